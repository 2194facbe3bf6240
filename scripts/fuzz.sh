#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one after the other, on the
# nightly toolchain, starting from the committed seeds; exits non-zero when any target
# finds a crash (the input is left in fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_TARGETS="client server" scripts/fuzz.sh 600    # a subset
#
# Each target's working corpus is fuzz/corpus/<target> (git-ignored): the seeds of
# fuzz/seeds/<target> and the regression inputs of fuzz/regressions/<target> are copied
# into it first, so it grows from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
case "$secs" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
targets="${FUZZ_TARGETS:-client server codec record pki}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# Cached compiler facts from another toolchain confuse the nightly build.
rm -f fuzz/target/.rustc_info.json

cd fuzz
failed=()
for target in $targets; do
    mkdir -p "corpus/$target"
    for dir in "seeds/$target" "regressions/$target"; do
        if [ -d "$dir" ]; then
            find "$dir" -maxdepth 1 -type f ! -name '.*' -exec cp {} "corpus/$target/" \;
        fi
    done
    echo "== fuzzing $target for ${secs}s"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes in: $targets"
