#!/usr/bin/env bash
# keylab server beside openssl s_server on this machine, same certificate, over loopback.
#
#   scripts/bench-loopback.sh [--time SECONDS] [--runs N]
#
# Both servers present the checked-in Ed25519 chain (fixtures/data/ed25519) and speak
# TLS 1.3 with TLS_CHACHA20_POLY1305_SHA256 and x25519; neither sends session tickets
# (keylab --no-tickets, s_server -num_tickets 0). `openssl s_time -new -time SECONDS`
# makes full handshakes one after another; each run alternates keylab and OpenSSL, N runs
# (default 5) of SECONDS (default 10) each. A figure is s_time's connection count over the
# wall-clock length of that s_time run (s_time's own "real seconds" is a whole number and
# can be almost a second off), the median over the runs. Adds {"loopback": {...}} to
# target/bench-summary.json. Starts and stops only its own server processes.
set -euo pipefail

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

secs=10
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
        --time)
            secs="${2:-}"
            shift
            ;;
        --runs)
            runs="${2:-}"
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bench-loopback.sh: unknown argument $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done
for n in "$secs" "$runs"; do
    case "$n" in
        '' | *[!0-9]* | 0)
            echo "bench-loopback.sh: --time and --runs take positive numbers" >&2
            exit 2
            ;;
    esac
done
command -v openssl >/dev/null || {
    echo "bench-loopback.sh: needs the openssl command" >&2
    exit 2
}

cd "$(dirname "$0")/.."
D=fixtures/data/ed25519
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work="$target_dir/bench-loopback"
rm -rf "$work"
mkdir -p "$work"
echo "building keylab (release)..."
cargo build --release -p harness --bin keylab --quiet
keylab="$target_dir/release/keylab"

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
    echo "bench-loopback.sh: the server did not start (see $1)" >&2
    exit 1
}

"$keylab" server --listen 127.0.0.1:0 --cert "$D/server.pem" --key "$D/server.key" \
    --no-tickets --handshake-timeout 5 --idle-timeout 5 >"$work/keylab.out" 2>"$work/keylab.err" &
pids+=($!)
wait_for "$work/keylab.out" "listening on"
keylab_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/keylab.out")

openssl_port=$(free_port)
openssl s_server -accept "127.0.0.1:$openssl_port" -www -tls1_3 \
    -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -groups X25519 -num_tickets 0 \
    -cert "$D/server.pem" -key "$D/server.key" -cert_chain "$D/intermediate.pem" \
    </dev/null >"$work/openssl.out" 2>&1 &
pids+=($!)
wait_for "$work/openssl.out" "ACCEPT"

# One s_time run against port $2, labelled $1; appends "label connections seconds" to
# the results file.
measure() {
    local log="$work/s_time-$1-$3.log"
    local t0 t1
    t0=$(date +%s.%N)
    timeout $((secs + 30)) openssl s_time -connect "127.0.0.1:$2" -new -time "$secs" \
        -ciphersuites TLS_CHACHA20_POLY1305_SHA256 >"$log" 2>&1 || {
        echo "bench-loopback.sh: s_time against $1 failed (see $log)" >&2
        exit 1
    }
    t1=$(date +%s.%N)
    local conns
    conns=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' "$log")
    if [ -z "$conns" ]; then
        echo "bench-loopback.sh: no result from s_time against $1 (see $log)" >&2
        exit 1
    fi
    echo "$1 $conns $t0 $t1" >>"$work/results"
    awk -v n="$1" -v c="$conns" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "  %-8s %6d connections in %.2f s\n", n, c, b - a }'
}

for i in $(seq 1 "$runs"); do
    echo "run $i of $runs (${secs} s each)"
    if [ $((i % 2)) = 1 ]; then
        measure keylab "$keylab_port" "$i"
        measure openssl "$openssl_port" "$i"
    else
        measure openssl "$openssl_port" "$i"
        measure keylab "$keylab_port" "$i"
    fi
done

python3 - "$work/results" "$target_dir/bench-summary.json" <<'PY'
import json
import os
import statistics
import sys

rates = {"keylab": [], "openssl": []}
for line in open(sys.argv[1]):
    name, conns, t0, t1 = line.split()
    rates[name].append(int(conns) / (float(t1) - float(t0)))
med = {k: statistics.median(v) for k, v in rates.items()}
spread = {k: (max(v) - min(v)) / med[k] for k, v in rates.items()}
path = sys.argv[2]
summary = {}
if os.path.exists(path):
    with open(path) as f:
        summary = json.load(f)
summary["loopback"] = {
    "keylab_conn_per_s": round(med["keylab"], 1),
    "openssl_conn_per_s": round(med["openssl"], 1),
}
with open(path, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print()
print(f"Loopback: full TLS 1.3 handshakes per wall-clock second, openssl s_time -new"
      f" (median of {len(rates['keylab'])} runs, ± = (max - min) / median)")
for k in ("keylab", "openssl"):
    print(f"  {k + ' server':<15} {med[k]:>8,.1f} conn/s ±{spread[k] * 100:.1f}%")
print(f"  keylab/openssl  {med['keylab'] / med['openssl']:>8.2f}")
print(f"wrote {path}")
PY
