# Instruction counts of complete handshakes under valgrind's callgrind, sourced by
# scripts/bench.sh --instructions.
#
# For every path and key and each of keylab, rustls and the floor, the bench executable
# runs alone (KEYLAB_BENCH_PROFILE=IMPL/PATH/KEY/N) with collection switched on only inside
# its run_* function, once with N = 1 and once with N = 1 + STEPS; the difference over
# STEPS is the count of one client+server pair, free of set-up and of the first
# handshake's one-time costs. Callgrind counts are exact for a given input; keylab and
# rustls draw fresh randomness, which moves them by well under 0.1 %.

INSTRUCTION_STEPS=${INSTRUCTION_STEPS:-5}

# The bench executable cargo built last (its path is printed by --no-run).
bench_executable() {
    cargo bench -p harness --bench tls --no-run 2>&1 |
        sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1
}

# Installs valgrind when it is missing (Debian and Ubuntu).
need_valgrind() {
    command -v valgrind >/dev/null && return 0
    echo "installing valgrind..."
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get install -y -qq valgrind >/dev/null || {
        echo "bench.sh: --instructions needs valgrind (apt-get install valgrind)" >&2
        exit 2
    }
}

# Instructions callgrind collected for SPEC/N, run from a private copy of the executable.
collected() {
    local exe=$1 spec=$2 n=$3 dir=$4
    KEYLAB_BENCH_PROFILE="$spec/$n" valgrind --tool=callgrind \
        --callgrind-out-file="$dir/callgrind.out" --toggle-collect='*run_*' \
        "$exe" >/dev/null 2>"$dir/valgrind.log" || {
        tail -n 20 "$dir/valgrind.log" >&2
        echo "bench.sh: callgrind failed for $spec/$n" >&2
        exit 1
    }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/valgrind.log"
}

# Writes TARGET/bench-instructions.json: a list of {path, key, keylab, rustls, floor}.
count_instructions() {
    local target=$1 exe dir
    need_valgrind
    dir=$(mktemp -d)
    exe="$dir/tls-bench"
    cp "$(bench_executable)" "$exe"
    local rows=()
    for case in ephemeral-dh/ed25519 certificate/ed25519 ephemeral-dh/rsa2048 \
        certificate/rsa2048 ephemeral-dh/p256 certificate/p256; do
        local fields=("\"path\": \"${case%/*}\"" "\"key\": \"${case#*/}\"")
        for impl in keylab rustls floor; do
            local one more
            one=$(collected "$exe" "$impl/$case" 1 "$dir")
            more=$(collected "$exe" "$impl/$case" $((1 + INSTRUCTION_STEPS)) "$dir")
            fields+=("\"$impl\": $(((more - one) / INSTRUCTION_STEPS))")
        done
        local IFS=,
        rows+=("{${fields[*]}}")
        echo "  instructions $case: ${fields[*]:2}"
    done
    local IFS=,
    echo "[${rows[*]}]" | python3 -m json.tool >"$target/bench-instructions.json"
    rm -rf "$dir"
}

# Adds TARGET/bench-instructions.json to TARGET/bench-summary.json (created if missing)
# and prints the ratios.
merge_instructions() {
    python3 - "$1" <<'PY'
import json
import os
import sys

target = sys.argv[1]
with open(os.path.join(target, "bench-instructions.json")) as f:
    rows = json.load(f)
path = os.path.join(target, "bench-summary.json")
summary = {}
if os.path.exists(path):
    with open(path) as f:
        summary = json.load(f)
summary["instructions"] = rows
with open(path, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print("Instructions per client+server handshake pair (callgrind)")
print(f"{'path':<13} {'key':<8} {'keylab':>12} {'rustls':>12} {'floor':>12}"
      f" {'keylab/floor':>12} {'rustls/floor':>12}")
for r in rows:
    print(f"{r['path']:<13} {r['key']:<8} {r['keylab']:>12,} {r['rustls']:>12,}"
          f" {r['floor']:>12,} {r['keylab'] / r['floor']:>12.3f} {r['rustls'] / r['floor']:>12.3f}")
print(f"wrote {path}")
PY
}
