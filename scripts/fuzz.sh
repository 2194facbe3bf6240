#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one after the other, on the
# nightly toolchain, starting from the committed seeds; exits non-zero when any target
# finds a crash (the input is left in fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_TARGETS="client server" scripts/fuzz.sh 600    # a subset
#   scripts/fuzz.sh --build-only                         # the OSS-Fuzz build, locally
#
# Each target's working corpus is fuzz/corpus/<target> (git-ignored): the seeds of
# fuzz/seeds/<target> and the regression inputs of fuzz/regressions/<target> are copied
# into it first, so it grows from run to run. After each run one line sums it up
# (executions, exec/s, coverage, corpus size).
#
# --build-only runs .clusterfuzzlite/build.sh, the script OSS-Fuzz and ClusterFuzzLite
# call, without Docker: $SRC and $OUT are temporary directories ($SRC/keylab links to this
# checkout); it then checks that every target's binary and seed corpus zip is in $OUT,
# lists them, and exits non-zero if any is missing.
#
# CARGO_TARGET_DIR, when set, is where the targets are built (fuzz/target otherwise).
# FUZZ_BUILD_LOCK, when set, names a lock file that every build (and the installation of
# cargo-fuzz) holds, to share a machine with other builds; running a fuzzer does not.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

build_only=false
if [ "${1:-}" = "--build-only" ]; then
    build_only=true
    shift
fi
secs="${1:-60}"
case "$secs" in
    '' | *[!0-9]*) echo "usage: $0 [--build-only] [SECONDS]" >&2; exit 2 ;;
esac
all_targets="$(cd fuzz/fuzz_targets && for f in *.rs; do printf '%s ' "${f%.rs}"; done)"
targets="${FUZZ_TARGETS:-$all_targets}"
target_dir="${CARGO_TARGET_DIR:-$root/fuzz/target}"
export CARGO_TARGET_DIR="$target_dir"
# `cargo fuzz` (here and in build.sh) needs nightly, as in the OSS-Fuzz builder image.
export RUSTUP_TOOLCHAIN=nightly

locked() {
    if [ -n "${FUZZ_BUILD_LOCK:-}" ]; then
        flock "$FUZZ_BUILD_LOCK" "$@"
    else
        "$@"
    fi
}

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    # Its own build directory, not the fuzz targets'.
    locked env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked
fi
# Cached compiler facts from another toolchain confuse the nightly build.
rm -f "$target_dir/.rustc_info.json"

if $build_only; then
    SRC="$(mktemp -d)"
    OUT="$(mktemp -d)"
    export SRC OUT
    trap 'rm -rf "$SRC" "$OUT"' EXIT
    ln -s "$root" "$SRC/keylab"
    locked "$root/.clusterfuzzlite/build.sh"
    missing=()
    for target in $all_targets; do
        [ -x "$OUT/$target" ] || missing+=("$target")
        zip="$OUT/${target}_seed_corpus.zip"
        if [ -s "$zip" ] && unzip -tq "$zip" >/dev/null; then
            echo "$target: $(du -h "$OUT/$target" | cut -f1) binary," \
                "$(unzip -Z1 "$zip" | wc -l) seed inputs"
        else
            missing+=("${target}_seed_corpus.zip")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "missing from \$OUT: ${missing[*]}" >&2
        exit 1
    fi
    echo "every target and seed corpus is in \$OUT ($(ls "$OUT" | wc -l) files)"
    exit 0
fi

# The same flags as build.sh, so that the two share one build.
(cd fuzz && locked cargo fuzz build -O --debug-assertions --target-dir "$target_dir")
bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"

cd fuzz
failed=()
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    for dir in "seeds/$target" "regressions/$target"; do
        if [ -d "$dir" ]; then
            find "$dir" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' \
                -exec cp {} "corpus/$target/" \;
        fi
    done
    echo "== fuzzing $target for ${secs}s"
    log="artifacts/$target.log"
    set +e
    "$bin_dir/$target" -artifact_prefix="artifacts/$target/" -max_total_time="$secs" \
        -timeout=10 -print_final_stats=1 "corpus/$target" 2>&1 | tee "$log" |
        grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|SUMMARY|stat::)'
    statuses=("${PIPESTATUS[@]}")
    set -e
    status="${statuses[0]}"
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
    echo "$target: ${done_line:-no DONE line}; corpus $(ls "corpus/$target" | wc -l) files"
    [ "$status" -eq 0 ] || failed+=("$target")
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes in: $targets"
