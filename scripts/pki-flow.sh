#!/usr/bin/env bash
# The pki flow end to end: a root CA, an intermediate, a server and a client certificate,
# each validated; then one rejection, to show what an error looks like.
# Usage: scripts/pki-flow.sh [DIR]   (default: a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p harness
keylab=target/release/keylab
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
run() { echo "\$ keylab $*"; "$keylab" "$@"; echo; }

run pki init --out "$dir/ca" --force
run pki issue --ca-cert "$dir/ca/ca.pem" --ca-key "$dir/ca/ca.key" --intermediate "keylab Issuing CA" --out "$dir/issuing" --force
run pki issue --ca-cert "$dir/issuing.pem" --ca-key "$dir/issuing.key" --server localhost,127.0.0.1,::1 --key rsa2048 --out "$dir/server" --force
run pki issue --ca-cert "$dir/issuing.pem" --ca-key "$dir/issuing.key" --client alice --email alice@example.com --out "$dir/alice" --force
run pki show "$dir/server.pem"
run pki verify --ca "$dir/ca/ca.pem" --cert "$dir/server.pem" --name localhost
run pki verify --ca "$dir/ca/ca.pem" --cert "$dir/alice.pem" --purpose client
echo "\$ keylab pki verify --ca $dir/ca/ca.pem --cert $dir/server.pem --name example.org   # expected to fail"
if "$keylab" pki verify --ca "$dir/ca/ca.pem" --cert "$dir/server.pem" --name example.org; then
    echo "unexpected: a wrong name was accepted" >&2
    exit 1
fi
echo
echo "all files are in $dir"
