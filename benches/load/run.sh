#!/usr/bin/env bash
# The load test: requests per second of the counter's `GET /` (a session
# read and written on every request) against the same app with the layer
# removed, and against the same app on tower-sessions 0.15, driven by wrk
# over loopback.
#
#   benches/load/run.sh                    # the full run, about 3.5 minutes
#   DURATION=3s benches/load/run.sh        # a quick check
#   MODES="none cookie" benches/load/run.sh
#
# Each mode is `examples/load_server.rs` (release build): the counter's
# `GET /` with the session layer (`cookie`, `memory`, `redis`) or without
# it (`none`: the same handler shape, counting in an atomic). `ts-memory`
# and `ts-redis` are the rival, `benches/compare/src/bin/ts_load_server.rs`
# (a release build of the separate benches/compare package): the same
# router, session type, answer and runtime on tower-sessions 0.15, with its
# `MemoryStore` or a Redis store (tower-sessions-redis-store's, fred and
# MessagePack, ported to 0.15). The servers are pinned to one core and wrk
# to another with taskset. wrk runs one thread per connection, four
# connections (two per core of the 2-core machine), so that each
# connection keeps its own session (see session.lua). After an uncounted
# warm-up, RUNS rounds take the modes in turn; the table gives each mode's
# median. Any non-2xx answer, socket error or timeout, or lost session
# fails the run at once. The cookie and memory rows pass at THRESHOLD
# percent of `none`; the Redis and tower-sessions rows are only reported
# (below the table, `memory` and `redis` are also given as a percentage of
# `ts-memory` and `ts-redis`). Exits 0 when every row passes, 2 when a row
# is under the threshold, 1 when the run itself failed (logs are then
# kept).
#
# Settings (environment):
#   DURATION=10s      each wrk run (wrk syntax: 10s, 1m)
#   RUNS=3            runs per mode; the median is reported
#   WARMUP=2s         an uncounted wrk run per mode first (0: none)
#   CONNECTIONS=4     wrk connections, one wrk thread each
#   SERVER_CPU=0      core for the server
#   CLIENT_CPU=1      core for wrk
#   THRESHOLD=85      percent of `none` that cookie and memory must reach
#   MODES="none cookie memory redis ts-memory ts-redis"
#                     also `counter-cookie`, `counter-memory`, `counter-redis`:
#                     the same measurement of `examples/counter` itself
#   REDIS_URL=redis://127.0.0.1:6379   (the redis rows, ts-redis too, are
#                     skipped, and say so, when nothing answers there)
#
# Everything listens on and connects to 127.0.0.1 only. The servers are
# stopped on exit, and the Redis keys the load servers wrote (prefix
# `tcs-load:` for this crate, `ts-load:` for tower-sessions) are deleted.

set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DURATION=${DURATION:-10s}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-4}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
THRESHOLD=${THRESHOLD:-85}
MODES=${MODES:-none cookie memory redis ts-memory ts-redis}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
REDIS_PREFIX=tcs-load:
TS_REDIS_PREFIX=ts-load:
LUA=benches/load/session.lua

die() {
    printf '\nload test FAILED: %s\n' "$*" >&2
    exit 1
}

# --- cleanup -----------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/tcs-load.XXXXXX")
declare -A pid=() port=() log=()
wrk_pid=

# Stops every server started: SIGINT first (their graceful shutdown, as
# Ctrl-C), then SIGKILL after five seconds.
stop_servers() {
    local p
    for p in "${pid[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=
        for p in "${pid[@]}"; do kill -0 "$p" 2>/dev/null && alive=yes; done
        [[ -n $alive ]] || break
        sleep 0.1
    done
    for p in "${pid[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pid=()
}

delete_redis_keys() {
    command -v redis-cli >/dev/null || return 0
    local prefix
    for prefix in "$REDIS_PREFIX" "$TS_REDIS_PREFIX"; do
        redis-cli -u "$REDIS_URL" --scan --pattern "${prefix}*" 2>/dev/null |
            xargs -r -n 100 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    done
}

cleanup() {
    local status=$?
    if [[ -n $wrk_pid ]]; then
        kill -TERM "$wrk_pid" 2>/dev/null || true # `timeout` passes it on to wrk
        wait "$wrk_pid" 2>/dev/null || true
    fi
    stop_servers
    [[ " $MODES " == *" redis "* || " $MODES " == *" ts-redis "* ]] && delete_redis_keys
    if ((status == 0)); then
        rm -rf "$work"
    elif ! rmdir "$work" 2>/dev/null; then
        echo "logs kept in $work" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo "load test FAILED: line $LINENO: \`$BASH_COMMAND\` exited with $?" >&2' ERR
trap 'echo "load test interrupted" >&2; exit 130' INT
trap 'echo "load test terminated" >&2; exit 143' TERM

# --- checks and tools ----------------------------------------------------------

[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive number"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
for mode in $MODES; do
    case $mode in
        none | cookie | memory | redis | counter-cookie | counter-memory | counter-redis | ts-memory | ts-redis) ;;
        *) die "unknown mode $mode in MODES" ;;
    esac
done

# seconds DURATION: a wrk duration (10s, 1m, 1h, 10) in whole seconds, to
# bound each run with `timeout`.
seconds() {
    local n
    case $1 in
        *[0-9]s) n=${1%s} ;;
        *[0-9]m) n=$((${1%m} * 60)) ;;
        *[0-9]h) n=$((${1%h} * 3600)) ;;
        *) n=$1 ;;
    esac
    [[ $n =~ ^[0-9]+$ ]] || die "$1: a duration must look like 10s, 1m or 10"
    echo "$n"
}
seconds "$DURATION" >/dev/null
(($(seconds "$DURATION") > 0)) || die "DURATION must be positive"
seconds "$WARMUP" >/dev/null
[[ $SERVER_CPU =~ ^[0-9]+$ && $CLIENT_CPU =~ ^[0-9]+$ ]] || die "SERVER_CPU and CLIENT_CPU must be core numbers"
[[ $THRESHOLD =~ ^[0-9]+$ ]] || die "THRESHOLD must be a whole percentage"

cpus=$(nproc)
((SERVER_CPU < cpus && CLIENT_CPU < cpus)) ||
    die "SERVER_CPU=$SERVER_CPU and CLIENT_CPU=$CLIENT_CPU need $((SERVER_CPU > CLIENT_CPU ? SERVER_CPU + 1 : CLIENT_CPU + 1)) cores; this machine has $cpus"
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || echo "warning: server and wrk share core $SERVER_CPU" >&2

command -v taskset >/dev/null || die "taskset is missing (Debian package util-linux)"
if ! command -v wrk >/dev/null; then
    echo "==> installing wrk"
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -qq wrk >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq wrk; } ||
        die "could not install wrk (apt-get install wrk)"
fi

redis_up() {
    # REDIS_URL is redis://[:password@]host:port[/db]; ask the server itself.
    if command -v redis-cli >/dev/null; then
        timeout 3 redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG
    else
        local hostport=${REDIS_URL#*://}
        hostport=${hostport#*@}
        hostport=${hostport%%/*}
        timeout 3 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null
    fi
}

skip_redis=
if [[ " $MODES " == *redis* ]] && ! redis_up; then
    skip_redis="no Redis answers at $REDIS_URL"
    echo "warning: $skip_redis; the Redis rows are skipped" >&2
fi

# --- build -----------------------------------------------------------------------

# cargo_build NAME TARGET ARGS...: `cargo build --release ARGS...`, whose
# executable TARGET is copied aside to $work/NAME so that a build with other
# features cannot replace it. Prints nothing; fails loudly.
cargo_build() {
    local name=$1 target=$2
    shift 2
    local args=(build --release "$@" --message-format=json-render-diagnostics)
    echo "==> cargo ${args[*]}" >&2
    local json
    json=$(cargo "${args[@]}") || die "cargo ${args[*]} failed"
    local exe
    exe=$(grep '"reason":"compiler-artifact"' <<<"$json" |
        grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//' |
        grep "/$target\$" | tail -n1)
    [[ -x $exe ]] || die "no executable $target in cargo's output"
    cp "$exe" "$work/$name"
}

# build EXAMPLE [FEATURES]: a release build of one of the crate's examples.
build() {
    local example=$1 features=${2:-}
    local args=(--example "$example")
    [[ -n $features ]] && args+=(--features "$features")
    cargo_build "$example${features:+-$features}" "$example" "${args[@]}"
}

# The tower-sessions server: a binary of the separate benches/compare
# package (its own workspace and target directory).
build_ts() {
    cargo_build ts_load_server ts_load_server \
        --manifest-path benches/compare/Cargo.toml --bin ts_load_server
}

needs() { [[ " $MODES " =~ $1 ]]; }
if needs ' (none|cookie|memory) '; then build load_server; fi
if needs ' redis ' && [[ -z $skip_redis ]]; then build load_server redis; fi
if needs ' counter-(cookie|memory) '; then build counter; fi
if needs ' counter-redis ' && [[ -z $skip_redis ]]; then build counter redis; fi
if needs ' ts-memory ' || { needs ' ts-redis ' && [[ -z $skip_redis ]]; }; then build_ts; fi

# --- servers ---------------------------------------------------------------------

# start_server MODE: starts it pinned to SERVER_CPU on a free loopback port
# (PORT=0, read back from its log) and waits until /health answers 200.
start_server() {
    local mode=$1 exe target key
    key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    local env=(PORT=0 SESSION_KEY="$key")
    case $mode in
        none | cookie | memory) exe=$work/load_server target=load_server env+=(MODE="$mode") ;;
        redis) exe=$work/load_server-redis target=load_server env+=(MODE=redis REDIS_URL="$REDIS_URL" REDIS_PREFIX="$REDIS_PREFIX") ;;
        counter-cookie) exe=$work/counter target=counter env+=(SESSION_STORE=cookie) ;;
        counter-memory) exe=$work/counter target=counter env+=(SESSION_STORE=memory) ;;
        counter-redis) exe=$work/counter-redis target=counter env+=(SESSION_STORE="$REDIS_URL") ;;
        ts-memory) exe=$work/ts_load_server target=ts_load_server env+=(MODE=memory) ;;
        ts-redis) exe=$work/ts_load_server target=ts_load_server env+=(MODE=redis REDIS_URL="$REDIS_URL" REDIS_PREFIX="$TS_REDIS_PREFIX") ;;
    esac
    # Warnings only, plus the line that gives the port.
    env+=(RUST_LOG="warn,$target=info")
    log[$mode]=$work/server-$mode.log
    : >"${log[$mode]}" # before the server opens it, so that sed can read it at once
    env "${env[@]}" taskset -c "$SERVER_CPU" "$exe" >"${log[$mode]}" 2>&1 &
    pid[$mode]=$!

    local p=
    for _ in $(seq 1 300); do
        p=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p;T;q' "${log[$mode]}")
        [[ -n $p ]] && break
        kill -0 "${pid[$mode]}" 2>/dev/null || die "the $mode server exited: $(cat "${log[$mode]}")"
        sleep 0.1
    done
    [[ -n $p ]] || die "the $mode server did not say its port within 30 s: $(cat "${log[$mode]}")"
    port[$mode]=$p
    for _ in $(seq 1 100); do
        if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p &&
            printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
            head -n1 <&3" 2>/dev/null | grep -q ' 200 '; then
            echo "    $mode: pid ${pid[$mode]}, http://127.0.0.1:$p/" >&2
            return 0
        fi
        sleep 0.1
    done
    die "the $mode server on port $p does not answer GET /health"
}

# CPU time (user + system, in clock ticks) the MODE server has used so far.
server_ticks() {
    # Fields after the `(comm)` one: state is the first, utime the 12th.
    sed 's/^.*) //' "/proc/${pid[$1]}/stat" | awk '{ print $12 + $13 }'
}

# "busy total" clock ticks of core $1 so far, from /proc/stat.
core_ticks() {
    awk -v cpu="cpu$1" '$1 == cpu { total = 0; for (i = 2; i <= NF; i++) total += $i; print total - $5 - $6, total }' /proc/stat
}

# --- one wrk run ---------------------------------------------------------------

declare -A rates=() p99s=() cpu=() client_busy=() capacity=()
ticks_per_second=$(getconf CLK_TCK)

# wrk_run MODE RUN DURATION COUNTED: one wrk run against the MODE server,
# checked; when COUNTED, its rate, p99 and the server's CPU share are kept.
wrk_run() {
    local mode=$1 run=$2 duration=$3 counted=$4
    local out=$work/wrk-$mode-${run// /-}.txt t0 c0 t1 c1 k0 kt0 k1 kt1
    t0=$(date +%s%N)
    c0=$(server_ticks "$mode")
    read -r k0 kt0 < <(core_ticks "$CLIENT_CPU")
    # In the background, so that a signal interrupts `wait` at once.
    timeout $(($(seconds "$duration") + 30)) taskset -c "$CLIENT_CPU" \
        wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"$duration" --timeout 5s \
        -s "$LUA" "http://127.0.0.1:${port[$mode]}/" >"$out" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || die "wrk failed or overran against $mode ($run): $(cat "$out")"
    wrk_pid=
    c1=$(server_ticks "$mode")
    read -r k1 kt1 < <(core_ticks "$CLIENT_CPU")
    t1=$(date +%s%N)

    local line
    line=$(grep '^LOAD ' "$out") || die "no LOAD line from session.lua ($mode, $run): $(cat "$out")"
    # rps=… requests=… responses=… non2xx=… errors=… cookies=… lost=… p50_us=… p99_us=…
    field() { sed "s/.* $1=\([^ ]*\).*/\1/" <<<"$line"; }
    local rps requests non2xx errors cookies lost p99
    rps=$(field rps)
    requests=$(field requests)
    non2xx=$(field non2xx)
    errors=$(field errors)
    cookies=$(field cookies)
    lost=$(field lost)
    p99=$(field p99_us)

    ((requests > 0)) || die "$mode $run completed no request: $(cat "$out")"
    ((non2xx == 0)) ||
        die "$mode $run: $non2xx non-2xx answers of $requests, the first: $(grep '^LOAD-FIRST-NON2XX' "$out" | cut -d' ' -f2- || true); server log: $(tail -n 20 "${log[$mode]}")"
    ((errors == 0)) ||
        die "$mode $run: $errors socket errors or timeouts ($(grep '^LOAD-ERRORS' "$out" | cut -d' ' -f2- || true)); server log: $(tail -n 20 "${log[$mode]}")"
    ((lost == 0)) || die "$mode $run: $lost answers lost their session (count not previous + 1)"
    if [[ $mode == none ]]; then
        ((cookies == 0)) || die "none $run: $cookies answers set a cookie, so a layer is present"
    else
        ((cookies > 0)) || die "$mode $run: no answer set a cookie, so no session was kept"
    fi

    local client
    client=$(awk -v b="$((k1 - k0))" -v t="$((kt1 - kt0))" 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
    local share
    share=$(awk -v c="$((c1 - c0))" -v hz="$ticks_per_second" -v ns="$((t1 - t0))" \
        'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }')
    printf '    %-14s %-7s %10.1f req/s, p99 %6.2f ms, server CPU %3d%%, wrk core busy %3d%%, %d answers with Set-Cookie\n' \
        "$mode" "$run" "$rps" "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" "$share" "$client" "$cookies" >&2
    if [[ $counted == yes ]]; then
        rates[$mode]+="$rps "
        p99s[$mode]+="$p99 "
        cpu[$mode]+="$share "
        client_busy[$mode]+="$client "
        # What the server would answer with its core fully busy: a load
        # generator that cannot keep it busy caps req/s, not this.
        capacity[$mode]+="$(awk -v r="$rps" -v c="$share" 'BEGIN { printf "%.0f", (c > 0 ? 100 * r / c : 0) }') "
    fi
}

# median "v1 v2 ...": the middle value, or the mean of the two middle ones.
median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- the runs --------------------------------------------------------------------

echo "==> $(wrk -v 2>&1 | head -n1 || true)"
echo "==> server on core $SERVER_CPU, wrk on core $CLIENT_CPU: -t$CONNECTIONS -c$CONNECTIONS -d$DURATION, $RUNS rounds"

measured=()
for mode in $MODES; do
    [[ $mode == *redis && -n $skip_redis ]] || measured+=("$mode")
done

# All servers run side by side (an idle one costs nothing), and the rounds
# take the modes in turn, so that a slow drift of the machine (another
# process, thermal limits) spreads over every mode instead of one.
echo "==> starting the servers" >&2
for mode in "${measured[@]}"; do start_server "$mode"; done
if (($(seconds "$WARMUP") > 0)); then
    echo "==> warm-up, $WARMUP each (not counted)" >&2
    for mode in "${measured[@]}"; do wrk_run "$mode" warm-up "$WARMUP" no; done
fi
for run in $(seq 1 "$RUNS"); do
    echo "==> round $run of $RUNS" >&2
    for mode in "${measured[@]}"; do wrk_run "$mode" "run $run" "$DURATION" yes; done
done
stop_servers

# --- the table ---------------------------------------------------------------------

failed=0
base= base_capacity= base_cpu=
if [[ -n ${rates[none]:-} ]]; then
    base=$(median "${rates[none]}")
    base_capacity=$(median "${capacity[none]}")
    base_cpu=$(median "${cpu[none]}")
fi
warm_note=
(($(seconds "$WARMUP") > 0)) && warm_note=", after a $WARMUP warm-up per mode"
percent() { awk -v m="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * m / b }'; }

printf '\n## Load test: `GET /` reads and writes a session on every request\n\n'
printf '%s; %s cores (%s). Server on core %s, `wrk -t%s -c%s -d%s` on core %s: one connection per wrk thread, each with its own session. Median of %s runs%s.\n\n' \
    "$(date -u +%Y-%m-%d)" "$cpus" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    "$SERVER_CPU" "$CONNECTIONS" "$CONNECTIONS" "$DURATION" "$CLIENT_CPU" "$RUNS" "$warm_note"
printf '| mode | req/s | runs | vs `none` | result | server CPU | wrk core busy | req/s per server core | vs `none` | p99 |\n'
printf '|---|---:|---|---:|---|---:|---:|---:|---:|---:|\n'
for mode in $MODES; do
    if [[ -z ${rates[$mode]:-} ]]; then
        printf '| %s | | | | skipped: %s | | | | | |\n' "$mode" "$skip_redis"
        continue
    fi
    rate=$(median "${rates[$mode]}")
    cap=$(median "${capacity[$mode]}")
    runs=$(printf '%.0f / ' ${rates[$mode]})
    ratio= cap_ratio=
    if [[ -n $base ]]; then
        ratio=$(percent "$rate" "$base")
        cap_ratio=$(percent "$cap" "$base_capacity")
    fi
    case $mode in
        none) verdict=baseline ;;
        *redis | ts-*) verdict=reported ;;
        *)
            if [[ -z $base ]]; then
                verdict="no baseline (add none to MODES)"
            elif awk -v m="$rate" -v b="$base" -v t="$THRESHOLD" 'BEGIN { exit !(100 * m >= t * b) }'; then
                verdict="PASS (>= $THRESHOLD%)"
            else
                verdict="FAIL (< $THRESHOLD%)"
                failed=1
            fi
            ;;
    esac
    printf '| %s | %.0f | %s | %s | %s | %.0f%% | %.0f%% | %.0f | %s | %.2f ms |\n' "$mode" "$rate" "${runs% / }" \
        "$ratio" "$verdict" "$(median "${cpu[$mode]}")" "$(median "${client_busy[$mode]}")" "$cap" "$cap_ratio" \
        "$(awk -v u="$(median "${p99s[$mode]}")" 'BEGIN { print u / 1000 }')"
done
cat <<EOF

req/s: wrk's completed requests per second, median of the runs; PASS/FAIL compares it with
\`none\` (the same app with the layer removed). Every run had zero non-2xx answers, zero socket
errors or timeouts, and no lost session. Server CPU: the share of its core the server process
used during a run; wrk core busy: how busy wrk's core was (wrk and anything else on it). req/s per
server core: req/s divided by the server's share, roughly what it would answer with its core
fully busy.
EOF
# This crate against tower-sessions, store for store, when both rows ran.
versus=
for pair in memory:ts-memory redis:ts-redis; do
    ours=${pair%%:*} theirs=${pair#*:}
    [[ -n ${rates[$ours]:-} && -n ${rates[$theirs]:-} ]] || continue
    versus+=$'\n'"- \`$ours\`: $(percent "$(median "${rates[$ours]}")" "$(median "${rates[$theirs]}")") of \`$theirs\`'s req/s,"
    versus+=" $(percent "$(median "${capacity[$ours]}")" "$(median "${capacity[$theirs]}")") of its req/s per server core"
done
if [[ " $MODES " == *" ts-"* ]]; then
    cat <<EOF

\`ts-memory\`, \`ts-redis\`: the same app on tower-sessions 0.15 (\`SessionManagerLayer\` defaults:
the cookie is the plain session id; its \`MemoryStore\`, or a fred Redis store), reported only.
tower-sessions saves the record and sends \`Set-Cookie\` on every request here, since the
handler changes the session every time.
EOF
    [[ -z $versus ]] || printf '\nThis crate against tower-sessions:%s\n' "$versus"
fi
if [[ -n $base_cpu ]] && ((${base_cpu%.*} < 90)); then
    cat <<EOF

Warning: \`none\` kept its server core only ${base_cpu%.*}% busy (wrk's core: $(median "${client_busy[none]}")% busy), so
something other than the server capped it: the load generator, or another process on a core.
The req/s ratios above are then flattered; compare the req/s-per-server-core ratios too.
EOF
fi

((failed == 0)) || exit 2
