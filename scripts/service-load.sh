#!/usr/bin/env bash
# The key server under load, over keylab's TLS and over plain HTTP, on this machine.
#
#   scripts/service-load.sh [--clients N] [--time SECONDS]
#
# Makes a CA and a server certificate with `keylab pki`, starts `keylab keyserver serve`
# twice (HTTPS with that certificate, and --insecure-http), publishes one key, then runs
# the load generator (harness/examples/service_load.rs): N clients (default 64), each
# with its own connection pool, look the key up back to back for SECONDS (default 30),
# first over HTTPS, then over plain HTTP. Prints requests per second and the median and
# 99th-percentile latency of each. Starts and stops only its own server processes.
set -euo pipefail

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

clients=64
secs=30
while [ $# -gt 0 ]; do
    case "$1" in
        --clients)
            clients="${2:-}"
            shift
            ;;
        --time)
            secs="${2:-}"
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "service-load.sh: unknown argument $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done
case "$clients$secs" in
    *[!0-9]* | "")
        echo "service-load.sh: --clients and --time take whole numbers" >&2
        exit 2
        ;;
esac

cd "$(dirname "$0")/.."
cargo build --release -q -p harness --bin keylab --example service_load
keylab="$PWD/target/release/keylab"
load="$PWD/target/release/examples/service_load"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$keylab" pki init --out ca 2>/dev/null
"$keylab" pki issue --ca-cert ca/ca.pem --ca-key ca/ca.key --server localhost,127.0.0.1 \
    --out server 2>/dev/null
openssl genpkey -algorithm ed25519 -out alice.key 2>/dev/null ||
    "$keylab" pki issue --ca-cert ca/ca.pem --ca-key ca/ca.key --client alice --out alice 2>/dev/null

# Starts a key server with the given transport options; sets $addr to its address.
start() {
    local name="$1"
    shift
    "$keylab" keyserver serve --listen 127.0.0.1:0 --db "$name.db" "$@" \
        >"$name.out" 2>"$name.err" &
    pids+=("$!")
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$name.out"; then
            addr="$(sed -n 's/^listening on //p' "$name.out")"
            return
        fi
        sleep 0.1
    done
    echo "service-load.sh: the $name key server did not start" >&2
    cat "$name.err" >&2
    exit 1
}

start https --cert server.pem --key server.key
https="https://$addr"
start plain --insecure-http
plain="http://$addr"
export XDG_CONFIG_HOME="$work/config"
"$keylab" keyserver publish --server "$https" --ca ca/ca.pem --key alice.key --name alice >/dev/null 2>&1
"$keylab" keyserver publish --server "$plain" --key alice.key --name alice >/dev/null 2>&1

echo "key server lookups, $clients clients for $secs s each:"
# A failed request is reported in the line (the count and the first error), not fatal.
"$load" "$https" alice "$clients" "$secs" ca/ca.pem || true
"$load" "$plain" alice "$clients" "$secs" || true
