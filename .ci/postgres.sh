#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for running the test suite against PostgreSQL
# by hand. (.ci/run uses the same functions from .ci/lib.sh.)
#
#   eval "$(.ci/postgres.sh start)"    # installs postgres if needed, starts a
#                                      # cluster, exports PGHOST/PGPORT/...
#   AUTHSTATUS_TEST_DB=postgres .venv/bin/python -m pytest
#   .ci/postgres.sh stop               # uses $PG_CLUSTER_DIR (or pass the dir)
#
#   .ci/postgres.sh smoke              # start, `psql -c 'select 1'`, stop
set -euo pipefail

# shellcheck source=.ci/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

case "${1:-}" in
start)
    pg_ensure_installed
    pg_start
    pg_env
    echo "export AUTHSTATUS_TEST_DB=postgres"
    ;;
stop)
    dir="${2:-${PG_CLUSTER_DIR:-}}"
    [ -n "$dir" ] || die "no cluster dir: pass it, or set PG_CLUSTER_DIR"
    pg_stop "$dir"
    ;;
smoke)
    t0=$SECONDS
    pg_ensure_installed
    t1=$SECONDS
    trap 'pg_stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    pg_start
    t2=$SECONDS
    pg_env >&2
    out="$("$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -c 'select 1' "$PG_DATABASE")"
    [ "$out" = "1" ] || die "psql select 1 returned '$out'"
    log "psql select 1 -> $out"
    pg_stop
    log "install check: $(fmt_duration $((t1 - t0))), cluster start: $(fmt_duration $((t2 - t1))), total: $(fmt_duration $((SECONDS - t0)))"
    ;;
*) usage ;;
esac
