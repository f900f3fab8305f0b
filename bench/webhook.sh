#!/usr/bin/env bash
# Webhook throughput benchmark (issue #7). Starts the release `dragoman run` on the embedded
# default with a SQLite database (and, when BENCH_POSTGRES_URL is set, again on PostgreSQL),
# runs bench/webhook_load.rs against it — GET /healthz as the baseline, then signed
# meeting.participant_joined POSTs, each a distinct event — and checks that every accepted
# event is a row in zoom_events. Processing runs after the acknowledgement (issue #7), so it
# then waits (up to 120 s) for every row to be processed and prints how long the backlog took.
# Stops only the daemon it started (by PID).
#
#   bench/webhook.sh                                   # SQLite
#   BENCH_POSTGRES_URL=postgres://root@127.0.0.1:5432/test bench/webhook.sh
#   BENCH_CONNS=64 BENCH_SECS=20 BENCH_LOG=warn BENCH_CLIENT_PROFILE=dev bench/webhook.sh
#   BENCH_BIN=/tmp/dragoman-before bench/webhook.sh    # another build (before/after runs)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BENCH_BIN:-target/release/dragoman}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin dragoman
# The load client: optimized by default; BENCH_CLIENT_PROFILE=dev builds it with the dev
# profile (deps at opt-level 1), which avoids building criterion & co. in release.
if [ "${BENCH_CLIENT_PROFILE:-release}" = dev ]; then
    cargo build --bench webhook_load
    LOAD=$(ls -t target/debug/deps/webhook_load-* | grep -v '\.d$' | head -1)
else
    cargo bench --bench webhook_load --no-run
    LOAD=$(ls -t target/release/deps/webhook_load-* | grep -v '\.d$' | head -1)
fi
PORT=${BENCH_PORT:-18080}
SECRET=bench-webhook-secret
export BENCH_URL="http://127.0.0.1:$PORT" BENCH_SECRET="$SECRET"

sql() {
    case "$1" in
        sqlite:*) sqlite3 "${1#sqlite://}" "$2" ;;
        *) psql -Atq "$1" -c "$2" ;;
    esac
}

run_one() {
    local label=$1 url=$2 dir=$3
    DRAGOMAN__DATABASE__URL="$url" \
    DRAGOMAN__HTTP__LISTEN="127.0.0.1:$PORT" \
    DRAGOMAN__HTTP__PUBLIC_URL="http://127.0.0.1:$PORT" \
    DRAGOMAN__ZOOM__WEBHOOK_SECRET="$SECRET" \
    DRAGOMAN__LOG__FORMAT=json RUST_LOG="${BENCH_LOG:-info}" \
        "$BIN" --data-dir "$dir" run >"$dir/daemon.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
        curl -fs "$BENCH_URL/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "== $label (daemon pid $pid, log $dir/daemon.log)"
    "$LOAD" --bench | tee "$dir/load.txt"
    # Processing follows the acknowledgement: wait for the backlog to be worked off.
    local waited=0 pending
    while :; do
        pending=$(sql "$url" "SELECT count(*) FROM zoom_events WHERE processed_at IS NULL")
        [ "$pending" = 0 ] || [ "$waited" -ge 1200 ] && break
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "unprocessed after the load: $pending (waited $((waited / 10)).$((waited % 10)) s)"
    kill -TERM "$pid"
    wait "$pid" || true
    local accepted stored
    accepted=$(sed -n 's/^webhook_ok_total //p' "$dir/load.txt")
    stored=$(sql "$url" "SELECT count(*) FROM zoom_events")
    echo "accepted $accepted, rows in zoom_events $stored"
    [ "$accepted" = "$stored" ] || { echo "MISMATCH: an acknowledged event is missing" >&2; exit 1; }
}

dir=$(mktemp -d)
run_one "SQLite" "sqlite://$dir/bench.db" "$dir"

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    db="dragoman_bench_$$"
    psql -Atq "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $db"
    pdir=$(mktemp -d)
    run_one "PostgreSQL" "${BENCH_POSTGRES_URL%/*}/$db" "$pdir"
    psql -Atq "$BENCH_POSTGRES_URL" -c "DROP DATABASE $db" || true
fi
