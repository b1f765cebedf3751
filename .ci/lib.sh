# shellcheck shell=bash
# Shared helpers for .ci/run and .ci/postgres.sh. Source it; it defines
# functions only and changes no shell options.
#
#   log / die / banner          output helpers (banner to stdout, the rest to stderr)
#   as_root CMD...              run CMD as root (directly, or via sudo)
#   find_python X.Y             print the path of a working Python X.Y or die
#   pg_ensure_installed         install Debian's PostgreSQL server if missing
#   pg_start / pg_stop          throwaway cluster on 127.0.0.1:<free port>
#   pg_env                      print `export PG...=` lines for the cluster
#   redis_ensure_installed      install Debian's Redis server (and redis-cli) if missing
#   redis_start / redis_stop    throwaway redis-server on 127.0.0.1:<free port>
#   chromium_ensure_installed   install Debian's Chromium if /usr/bin/chromium is missing
#   gettext_ensure_installed    install Debian's gettext (msgfmt, xgettext, msgmerge) if missing
#   cjk_fonts_ensure_installed  install Debian's fonts-noto-cjk if no font covers Japanese
#   apt_install PKG...          install Debian packages (apt-get update first)

log() { printf '[ci] %s\n' "$*" >&2; }
die() {
    printf '[ci] ERROR: %s\n' "$*" >&2
    exit 1
}

banner() {
    local line="========================================================================"
    printf '\n%s\n== %s\n%s\n' "$line" "$*" "$line"
}

# Seconds as "1m23s".
fmt_duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root for: $*"
    fi
}

# --------------------------------------------------------------------------
# Python interpreters
# --------------------------------------------------------------------------

# find_python 3.13 -> prints an interpreter path whose version is 3.13.
# Order: pyenv's versions dir, pythonX.Y on PATH, `pyenv install`. Never
# silently falls back to another version: dies if none can be had.
find_python() {
    local want="$1" root="${PYENV_ROOT:-/root/.pyenv}" cand pyenv_bin
    _py_ok() {
        [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
        "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" \
            >/dev/null 2>&1
    }
    # Newest patch release first (sort -V), e.g. 3.13.1 before 3.13.0.
    while IFS= read -r cand; do
        if _py_ok "$cand/bin/python"; then
            printf '%s\n' "$cand/bin/python"
            return 0
        fi
    done < <(printf '%s\n' "$root/versions/$want".* | sort -rV)
    # May be a pyenv shim: _py_ok runs it, so a shim for an uninstalled
    # version is rejected.
    if _py_ok "python$want"; then
        command -v "python$want"
        return 0
    fi
    pyenv_bin="$(command -v pyenv 2>/dev/null || true)"
    [ -n "$pyenv_bin" ] || [ ! -x "$root/bin/pyenv" ] || pyenv_bin="$root/bin/pyenv"
    if [ -n "$pyenv_bin" ]; then
        log "Python $want not found; trying: pyenv install --skip-existing $want"
        PYENV_ROOT="$root" "$pyenv_bin" install --skip-existing "$want" >&2 ||
            die "pyenv install $want failed"
        while IFS= read -r cand; do
            if _py_ok "$cand/bin/python"; then
                printf '%s\n' "$cand/bin/python"
                return 0
            fi
        done < <(printf '%s\n' "$root/versions/$want".* | sort -rV)
    fi
    die "Python $want not found (looked in $root/versions/$want.*, python$want on PATH; pyenv: ${pyenv_bin:-absent})"
}

# --------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster owned by the `postgres` OS user
# --------------------------------------------------------------------------

PG_USER="${PG_USER:-authstatus}"
PG_PASSWORD="${PG_PASSWORD:-authstatus}"
PG_DATABASE="${PG_DATABASE:-authstatus}"
PG_OS_USER="${PG_OS_USER:-postgres}"

# Newest /usr/lib/postgresql/<N>/bin that has initdb, pg_ctl and postgres.
pg_bindir() {
    local d
    while IFS= read -r d; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
    return 1
}

pg_ensure_installed() {
    if pg_bindir >/dev/null; then
        log "PostgreSQL server already installed: $(pg_bindir)"
        return 0
    fi
    log "installing PostgreSQL from Debian (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        postgresql >&2
    pg_bindir >/dev/null || die "postgresql installed but no server binaries in /usr/lib/postgresql/*/bin"
}

# Run a command as the cluster's OS user (postgres refuses to run as root).
# cd to / first: the repo may live in a directory the postgres user can't enter.
_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

_free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# pg_start: sets and exports PG_CLUSTER_DIR, PG_PORT, PG_BIN; leaves a server
# running on 127.0.0.1:$PG_PORT with role/db $PG_USER/$PG_DATABASE (trust auth).
pg_start() {
    local bindir tries=0
    bindir="$(pg_bindir)" || die "no PostgreSQL server binaries (run pg_ensure_installed)"
    if [ "$(id -u)" -eq 0 ]; then
        id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' missing (the postgresql package creates it)"
    fi
    PG_BIN="$bindir"
    PG_CLUSTER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/authstatus-pg.XXXXXX")"
    chmod 755 "$PG_CLUSTER_DIR"
    mkdir -p "$PG_CLUSTER_DIR/sock"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$PG_OS_USER:" "$PG_CLUSTER_DIR"
    fi
    export PG_BIN PG_CLUSTER_DIR

    log "initdb ($bindir) in $PG_CLUSTER_DIR/data"
    _pg_as_owner "$bindir/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres \
        --auth=trust --no-locale -E UTF8 --no-sync >"$PG_CLUSTER_DIR/initdb.log" 2>&1 || {
        cat "$PG_CLUSTER_DIR/initdb.log" >&2
        die "initdb failed"
    }

    # A free port can be taken between probing and binding: retry a few times.
    while :; do
        tries=$((tries + 1))
        PG_PORT="$(_free_port)"
        # fsync etc. off: a throwaway test cluster, speed over durability.
        # log_statement=ddl lets CI prove the test run created its database here.
        if _pg_as_owner "$bindir/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" \
            -w -t 60 -o "-k $PG_CLUSTER_DIR/sock -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c log_statement=ddl" \
            start >&2; then
            break
        fi
        [ "$tries" -lt 3 ] || {
            tail -n 50 "$PG_CLUSTER_DIR/server.log" >&2 || true
            die "pg_ctl start failed $tries times"
        }
        log "pg_ctl start failed on port $PG_PORT; retrying"
    done
    export PG_PORT

    # Superuser role: Django's test runner must CREATE/DROP DATABASE, and tests
    # may create extensions. Throwaway cluster, so no harm.
    "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_CLUSTER_DIR/sock" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE ROLE \"$PG_USER\" LOGIN SUPERUSER PASSWORD '$PG_PASSWORD'" \
        -c "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_USER\"" >&2 ||
        die "creating role/database failed"
    log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') up on 127.0.0.1:$PG_PORT (dir $PG_CLUSTER_DIR)"
}

# Prints the connection environment; `eval "$(pg_env)"` exports it.
pg_env() {
    cat <<EOF
export PGHOST=127.0.0.1
export PGPORT=$PG_PORT
export PGUSER=$PG_USER
export PGPASSWORD=$PG_PASSWORD
export PGDATABASE=$PG_DATABASE
export PG_CLUSTER_DIR=$PG_CLUSTER_DIR
EOF
}

# pg_stop [DIR]: stop the cluster and delete its directory. Idempotent; safe
# in an EXIT trap (never fails).
pg_stop() {
    local dir="${1:-${PG_CLUSTER_DIR:-}}" bindir
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    bindir="${PG_BIN:-$(pg_bindir || true)}"
    if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bindir" ]; then
        log "stopping PostgreSQL in $dir"
        _pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 || true
    fi
    case "$dir" in
    */authstatus-pg.*) rm -rf -- "$dir" ;;
    *) log "not deleting $dir (not a cluster dir made by pg_start)" ;;
    esac
    if [ "$dir" = "${PG_CLUSTER_DIR:-}" ]; then
        unset PG_CLUSTER_DIR
    fi
    return 0
}

# --------------------------------------------------------------------------
# Chromium: Debian's package, driven by Playwright (whose own browser download
# does not work here) in the browser stage
# --------------------------------------------------------------------------

CHROMIUM_BIN=/usr/bin/chromium

chromium_ensure_installed() {
    if [ -x "$CHROMIUM_BIN" ]; then
        log "Chromium already installed: $CHROMIUM_BIN"
        return 0
    fi
    log "installing Chromium from Debian (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        chromium >&2
    [ -x "$CHROMIUM_BIN" ] || die "chromium installed but $CHROMIUM_BIN is missing"
}

# apt_install PKG...: Debian packages, without recommends.
apt_install() {
    log "installing $* from Debian (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "$@" >&2
}

# Screenshots of Japanese pages (tests/browser/test_japanese.py) show boxes without a CJK font.
cjk_fonts_ensure_installed() {
    if command -v fc-list >/dev/null && [ -n "$(fc-list :lang=ja family | head -n 1)" ]; then
        log "a Japanese font is installed: $(fc-list :lang=ja family | head -n 1)"
        return 0
    fi
    apt_install fonts-noto-cjk fontconfig
}

# gettext's tools: makemessages runs xgettext and msgmerge, compilemessages msgfmt.
gettext_ensure_installed() {
    if command -v msgfmt >/dev/null && command -v xgettext >/dev/null &&
        command -v msgmerge >/dev/null; then
        log "gettext already installed: $(msgfmt --version | head -n 1)"
        return 0
    fi
    apt_install gettext
    command -v msgfmt >/dev/null || die "gettext installed but msgfmt is missing"
}

# --------------------------------------------------------------------------
# Redis: a throwaway server, nothing persisted
# --------------------------------------------------------------------------

redis_ensure_installed() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        log "Redis already installed: $(redis-server --version | awk '{print $3}' | sed 's/^v=//')"
        return 0
    fi
    log "installing Redis from Debian (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        redis-server >&2
    command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli installed but not on PATH"
}

# redis_start: sets and exports REDIS_DIR, REDIS_PORT, REDIS_PID; leaves a redis-server
# running in the background on 127.0.0.1:$REDIS_PORT (no RDB, no AOF, data dir REDIS_DIR).
redis_start() {
    local tries=0 i
    REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/authstatus-redis.XXXXXX")"
    export REDIS_DIR
    # A free port can be taken between probing and binding: retry a few times.
    while :; do
        tries=$((tries + 1))
        REDIS_PORT="$(_free_port)"
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no --dir "$REDIS_DIR" >"$REDIS_DIR/server.log" 2>&1 </dev/null &
        REDIS_PID=$!
        export REDIS_PORT REDIS_PID
        for ((i = 0; i < 100; i++)); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
                log "Redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//') up on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID, dir $REDIS_DIR)"
                return 0
            fi
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        [ "$tries" -lt 3 ] || {
            tail -n 50 "$REDIS_DIR/server.log" >&2 || true
            die "redis-server did not start ($tries tries)"
        }
        log "redis-server did not come up on port $REDIS_PORT; retrying"
    done
}

# redis_stop: stop the server redis_start started and delete its directory. Idempotent;
# safe in an EXIT trap (never fails).
redis_stop() {
    if [ -n "${REDIS_PID:-}" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        log "stopping Redis (pid $REDIS_PID)"
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    unset REDIS_PID
    case "${REDIS_DIR:-}" in
    */authstatus-redis.*) rm -rf -- "$REDIS_DIR" ;;
    esac
    unset REDIS_DIR
    return 0
}
