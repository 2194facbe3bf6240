#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT, each with its seed corpus, as
# OSS-Fuzz and ClusterFuzzLite call it for a Rust project (in their builder image, with
# the sources in $SRC/keylab). scripts/fuzz.sh --build-only runs it outside Docker.
#
#   $OUT/<target>                  the libFuzzer binary
#   $OUT/<target>_seed_corpus.zip  fuzz/seeds/<target> and fuzz/regressions/<target>
#
# CARGO_TARGET_DIR, when set, is where cargo builds (fuzz/target otherwise).
cd "$SRC/keylab/fuzz"

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
# Release with debug assertions: an integer overflow is a crash too.
cargo fuzz build -O --debug-assertions --target-dir "$target_dir"

bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"
for source in fuzz_targets/*.rs; do
    target="$(basename "$source" .rs)"
    cp "$bin_dir/$target" "$OUT/"
    # Flat archives (-j) of the committed inputs; dot files and READMEs are not inputs.
    inputs=()
    for dir in "seeds/$target" "regressions/$target"; do
        if [ -d "$dir" ]; then
            while IFS= read -r -d '' file; do
                inputs+=("$file")
            done < <(find "$dir" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' -print0)
        fi
    done
    rm -f "$OUT/${target}_seed_corpus.zip"
    if [ "${#inputs[@]}" -gt 0 ]; then
        zip -q -j "$OUT/${target}_seed_corpus.zip" "${inputs[@]}"
    fi
done
