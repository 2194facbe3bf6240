#!/usr/bin/env bash
# How `keylab wsn simulate` grows with the number of nodes at a constant mean degree.
#
#   scripts/wsn-scale.sh [--runs N] [--sizes "10000 100000 1000000"] [--threads T]
#                        [--bin KEYLAB]
#
# Eschenauer–Gligor, pool 10,000, ring 100, 50 captured nodes, seed 1; the range is
# sqrt(80 / (pi N)), about 80 neighbours per node at every size (a little less at small N,
# where more nodes sit near the edge). Each size runs N times (default 3), the sizes
# alternating; a figure is the median. Wall time and peak resident memory come from
# /usr/bin/time (GNU time). The last column divides each size's time by the smallest
# size's and by the growth of n log n between them: at most 1 means no worse than n log n.
# Prints a Markdown table. Builds the release binary first (or takes --bin) and runs a
# copy of it, so that a build during the runs does not change what is measured.
set -euo pipefail

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

runs=3
sizes="10000 100000 1000000"
threads=()
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs)
            runs="${2:-}"
            shift
            ;;
        --sizes)
            sizes="${2:-}"
            shift
            ;;
        --threads)
            threads=(--threads "${2:-}")
            shift
            ;;
        --bin)
            bin="${2:-}"
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
    shift
done
case "$runs" in
    '' | *[!0-9]* | 0)
        echo "--runs takes a positive whole number" >&2
        exit 2
        ;;
esac
if [ ! -x /usr/bin/time ]; then
    echo "GNU time (/usr/bin/time) is needed for the peak memory: apt-get install time" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$bin" ]; then
    cd "$(dirname "$0")/.."
    cargo build --release -p harness --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/keylab"
fi
cp "$bin" "$work/keylab"

range_of() {
    awk -v n="$1" 'BEGIN { printf "%.6f", sqrt(80 / (3.141592653589793 * n)) }'
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for run in $(seq 1 "$runs"); do
    for n in $sizes; do
        /usr/bin/time -f "%e %M" -o "$work/time" "$work/keylab" wsn simulate --scheme eg \
            --nodes "$n" --range "$(range_of "$n")" --capture 50 --seed 1 --json \
            "${threads[@]}" >"$work/out-$n.json"
        read -r secs kb <"$work/time"
        echo "$secs" >>"$work/secs-$n"
        echo "$kb" >>"$work/kb-$n"
        echo "run $run: $n nodes in $secs s, $((kb / 1024)) MB" >&2
    done
done

echo "| nodes | range | mean degree | neighbour pairs | time (median of $runs) | peak memory | time ÷ n log n, against $(echo "$sizes" | awk '{ print $1 }') |"
echo "|---|---|---|---|---|---|---|"
base_n=""
base_t=""
for n in $sizes; do
    t=$(median <"$work/secs-$n")
    kb=$(median <"$work/kb-$n")
    degree=$(sed 's/.*"mean_degree":\([0-9.]*\).*/\1/' "$work/out-$n.json")
    pairs=$(sed 's/.*"neighbour_pairs":\([0-9]*\).*/\1/' "$work/out-$n.json")
    if [ -z "$base_n" ]; then
        base_n=$n
        base_t=$t
    fi
    awk -v n="$n" -v r="$(range_of "$n")" -v d="$degree" -v p="$pairs" -v t="$t" -v kb="$kb" \
        -v bn="$base_n" -v bt="$base_t" 'BEGIN {
            growth = (n * log(n)) / (bn * log(bn))
            printf "| %d | %s | %.1f | %d | %.2f s | %d MB | %.2f |\n", n, r, d, p, t, kb / 1024, (t / bt) / growth
        }'
done
