#!/usr/bin/env bash
# Servers under load: keylab server, openssl s_server and a rustls server, each taking full
# TLS 1.3 handshakes from many concurrent connections over loopback.
#
#   scripts/bench-server-load.sh [--time SECONDS] [--runs N] [--connections C]
#
# The load generator is keylab's own client on the sans-IO core (harness/examples/
# tls_load.rs: C connections in flight from one thread, default 32; each a full handshake
# with x25519 and TLS_CHACHA20_POLY1305_SHA256 against the checked-in Ed25519 chain,
# then close). Pinned: the server runs on core 0 and the generator on core 1 (taskset);
# unpinned: both share the machine's cores. Every server sends no session tickets. Each
# of N runs (default 3) measures every server pinned and then unpinned for SECONDS
# (default 10), the order of the servers rotating from run to run; a figure is the median
# over the runs of handshakes per second, of the 99th-percentile handshake latency and of the
# server's CPU time per handshake (user + system, from /proc; the one figure the generator's
# own speed does not bound). "met" needs keylab's handshakes/s at least and its p99 at most
# the other server's.
# Adds {"server_load": [...]} to target/bench-summary.json. Starts and stops only its own
# processes. KEYLAB_BIN and TLS_LOAD_BIN name prebuilt executables (no build then).
set -euo pipefail

usage() {
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
}

secs=10
runs=3
conns=32
while [ $# -gt 0 ]; do
    case "$1" in
        --time | --runs | --connections)
            [ $# -ge 2 ] || {
                echo "bench-server-load.sh: $1 needs a number" >&2
                exit 2
            }
            case "$1" in
                --time) secs=$2 ;;
                --runs) runs=$2 ;;
                --connections) conns=$2 ;;
            esac
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bench-server-load.sh: unknown argument $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done
for n in "$secs" "$runs" "$conns"; do
    case "$n" in
        '' | *[!0-9]* | 0)
            echo "bench-server-load.sh: --time, --runs and --connections take positive numbers" >&2
            exit 2
            ;;
    esac
done
for tool in openssl taskset; do
    command -v "$tool" >/dev/null || {
        echo "bench-server-load.sh: needs the $tool command" >&2
        exit 2
    }
done
if [ "$(nproc)" -lt 2 ]; then
    echo "bench-server-load.sh: needs two cores (one for the server, one for the generator)" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
D=fixtures/data/ed25519
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work="$target_dir/bench-server-load"
rm -rf "$work"
mkdir -p "$work"
if [ -z "${KEYLAB_BIN:-}" ] || [ -z "${TLS_LOAD_BIN:-}" ]; then
    echo "building keylab and the load generator (release)..."
    cargo build --release -p harness --bin keylab --example tls_load --quiet
    KEYLAB_BIN="$target_dir/release/keylab"
    TLS_LOAD_BIN="$target_dir/release/examples/tls_load"
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for a line matching $2 in file $1.
wait_for() {
    for _ in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench-server-load.sh: a server did not start (see $1)" >&2
    exit 1
}

# Starts server $1 on core set $2 (e.g. "0" or "0-1"); sets `port`.
start_server() {
    local name=$1 cpus=$2 out="$work/$1.out"
    case "$name" in
        keylab)
            taskset -c "$cpus" "$KEYLAB_BIN" server --listen 127.0.0.1:0 \
                --cert "$D/server.pem" --key "$D/server.key" --no-tickets \
                --handshake-timeout 5 --idle-timeout 5 >"$out" 2>"$work/$name.err" &
            pids+=($!)
            wait_for "$out" "listening on"
            port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
            ;;
        rustls)
            # Twice the generator's connections, and at least 64 threads.
            taskset -c "$cpus" "$TLS_LOAD_BIN" rustls-server "$D/server.pem" "$D/server.key" \
                $((conns * 2 > 64 ? conns * 2 : 64)) >"$out" 2>"$work/$name.err" &
            pids+=($!)
            wait_for "$out" "listening on"
            port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
            ;;
        openssl)
            port=$(free_port)
            taskset -c "$cpus" openssl s_server -accept "127.0.0.1:$port" -www -tls1_3 \
                -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -groups X25519 -num_tickets 0 \
                -cert "$D/server.pem" -key "$D/server.key" -cert_chain "$D/intermediate.pem" \
                </dev/null >"$out" 2>&1 &
            pids+=($!)
            wait_for "$out" "ACCEPT"
            ;;
    esac
}

# Stops the server started last.
stop_server() {
    local last=$((${#pids[@]} - 1))
    kill "${pids[$last]}" 2>/dev/null || true
    wait "${pids[$last]}" 2>/dev/null || true
    unset "pids[$last]"
    pids=("${pids[@]}")
}

# One measurement: server $1, mode $2 (pinned or unpinned), run $3.
measure() {
    local name=$1 mode=$2 run=$3 server_cpus=0 load_cpus=1 result
    if [ "$mode" = unpinned ]; then
        server_cpus=0-$(($(nproc) - 1))
        load_cpus=$server_cpus
    fi
    start_server "$name" "$server_cpus"
    local server_pid=${pids[$((${#pids[@]} - 1))]}
    result=$(timeout $((secs + 30)) taskset -c "$load_cpus" \
        "$TLS_LOAD_BIN" client "127.0.0.1:$port" "$conns" "$secs") || {
        echo "bench-server-load.sh: the generator failed against $name" >&2
        exit 1
    }
    # The server's CPU time (user + system clock ticks, proc(5)) over its whole life, its
    # start included (loading a key and a certificate: small beside thousands of
    # handshakes). Fields counted after the ")" that ends the command name.
    local ticks
    ticks=$(sed 's/.*) //' "/proc/$server_pid/stat" | awk '{print $12 + $13}')
    stop_server
    echo "$name $mode $run $ticks $result" >>"$work/results"
    printf '  %-8s %-9s %s, server CPU %s ticks\n' "$name" "$mode" "$result" "$ticks"
}

servers=(keylab openssl rustls)
for run in $(seq 1 "$runs"); do
    echo "run $run of $runs (${secs} s per server and mode, $conns connections)"
    for i in 0 1 2; do
        name=${servers[$(((i + run - 1) % 3))]}
        measure "$name" pinned "$run"
        measure "$name" unpinned "$run"
    done
done

python3 - "$work/results" "$target_dir/bench-summary.json" <<'PY'
import json
import os
import statistics
import sys

tick = 1e6 / os.sysconf("SC_CLK_TCK")
figures = {}
for line in open(sys.argv[1]):
    name, mode, _, ticks, result = line.split(" ", 4)
    result = json.loads(result)
    result["cpu_us"] = int(ticks) * tick / max(result["handshakes"], 1)
    figures.setdefault((name, mode), []).append(result)
rows = []
for (name, mode), results in sorted(figures.items()):
    rates = [r["hs_per_s"] for r in results]
    p99 = [r["p99_ms"] for r in results]
    med = statistics.median(rates)
    rows.append({
        "server": name,
        "mode": mode,
        "hs_per_s": round(med, 1),
        "hs_per_s_spread": round((max(rates) - min(rates)) / med, 3) if med else None,
        "p99_ms": round(statistics.median(p99), 2),
        "server_cpu_us_per_hs": round(statistics.median(r["cpu_us"] for r in results)),
        "failed": sum(r["failed"] for r in results),
    })
path = sys.argv[2]
summary = {}
if os.path.exists(path):
    with open(path) as f:
        summary = json.load(f)
summary["server_load"] = rows
with open(path, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print()
print(f"Servers under load: full handshakes per second and p99 latency (median of"
      f" {len(results)} runs; ± = (max - min) / median)")
print(f"{'server':<8} {'mode':<9} {'hs/s':>8} {'±':>7} {'p99 ms':>8} {'CPU µs/hs':>10}"
      f" {'failed':>7}")
for r in rows:
    spread = f"±{r['hs_per_s_spread'] * 100:.0f}%" if r["hs_per_s_spread"] is not None else "-"
    print(f"{r['server']:<8} {r['mode']:<9} {r['hs_per_s']:>8,.0f} {spread:>7}"
          f" {r['p99_ms']:>8.2f} {r['server_cpu_us_per_hs']:>10,} {r['failed']:>7}")
by = {(r["server"], r["mode"]): r for r in rows}
for other in ("openssl", "rustls"):
    k, o = by[("keylab", "pinned")], by[(other, "pinned")]
    met = k["hs_per_s"] >= o["hs_per_s"] and k["p99_ms"] <= o["p99_ms"]
    print(f"  {'met ' if met else 'MISS'} pinned keylab/{other}:"
          f" {k['hs_per_s'] / o['hs_per_s']:.2f}x handshakes/s,"
          f" p99 {k['p99_ms']:.2f} vs {o['p99_ms']:.2f} ms,"
          f" server CPU {k['server_cpu_us_per_hs']} vs {o['server_cpu_us_per_hs']} µs per handshake")
print(f"wrote {path}")
PY
