#!/usr/bin/env bash
# The key server's publishes and lookups per second, on SQLite and on PostgreSQL with one
# and with three front ends, over HTTPS and plain HTTP, on this machine.
#
#   scripts/keyserver-load.sh [--clients N] [--time SECONDS]
#
# Builds keylab and the load generator (harness/examples/keyserver_load.rs), which starts
# a throwaway PostgreSQL cluster (PostgreSQL's default durability) and its own
# `keylab keyserver serve` processes, runs N clients (default 32) for SECONDS (default 10)
# per measurement, prints a Markdown table and stops everything it started.
set -euo pipefail

clients=32
secs=10
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
            sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "keyserver-load.sh: unknown argument $1" >&2
            exit 2
            ;;
    esac
    shift
done
case "$clients$secs" in
    *[!0-9]* | "")
        echo "keyserver-load.sh: --clients and --time take whole numbers" >&2
        exit 2
        ;;
esac

cd "$(dirname "$0")/.."
cargo build --release -q -p harness --bin keylab --example keyserver_load
exec target/release/examples/keyserver_load "$clients" "$secs"
