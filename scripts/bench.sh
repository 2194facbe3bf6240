#!/usr/bin/env bash
# keylab beside rustls and beside the crypto floor: handshakes, records, memory.
#
#   scripts/bench.sh [--quick] [--runs N] [--instructions | --instructions-only]
#
# Runs the criterion bench `harness/benches/tls` N times (default 5; the order of the
# implementations rotates from run to run), takes each figure as the median of the runs,
# prints the tables with ratios and spreads, and writes target/bench-summary.json
# (details of every run in target/bench-details.json). --quick uses short criterion
# measurements (about 5 minutes on 2 cores after the build); without it the five runs take
# about 25 minutes. --instructions also counts the instructions of one client+server
# handshake pair of keylab, rustls and the floor for every path and key under valgrind's
# callgrind (installed with apt-get when missing; about 3 minutes) and adds them to the
# summary as "instructions"; --instructions-only counts them without the timed runs and
# adds them to the summary already there. scripts/bench-loopback.sh adds the loopback
# server figures.
set -euo pipefail

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
runs=5
instructions=0
timed=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --instructions) instructions=1 ;;
        --instructions-only)
            instructions=1
            timed=0
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
            echo "bench.sh: unknown argument $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done
case "$runs" in
    '' | *[!0-9]*)
        echo "bench.sh: --runs needs a number" >&2
        exit 2
        ;;
esac
if [ "$runs" -lt 5 ]; then
    echo "bench.sh: at least 5 runs (each figure is the median of the runs)" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
if [ "$quick" = 1 ]; then
    criterion_args=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10 --nresamples 1000)
else
    criterion_args=(--warm-up-time 1 --measurement-time 3 --sample-size 20 --nresamples 10000)
fi
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work="$target_dir/bench-runs"

echo "building the bench (release)..."
cargo bench -p harness --bench tls --no-run --quiet

if [ "$instructions" = 1 ]; then
    # shellcheck source=scripts/bench-instructions.sh
    . scripts/bench-instructions.sh
    count_instructions "$target_dir"
fi
if [ "$timed" = 0 ]; then
    merge_instructions "$target_dir"
    exit 0
fi
rm -rf "$work"
mkdir -p "$work"
if [ "$instructions" = 1 ]; then
    mv "$target_dir/bench-instructions.json" "$work/instructions.json"
fi

start=$(date +%s)
for i in $(seq 1 "$runs"); do
    echo "run $i of $runs ($(($(date +%s) - start)) s so far)"
    if ! CRITERION_HOME="$work/criterion-$i" \
        KEYLAB_BENCH_ROTATE=$((i - 1)) \
        KEYLAB_BENCH_MEMORY_JSON="$work/memory-$i.json" \
        cargo bench -p harness --bench tls --quiet -- --noplot "${criterion_args[@]}" \
        >"$work/run-$i.log" 2>&1; then
        tail -n 40 "$work/run-$i.log" >&2
        echo "bench.sh: run $i failed (log: $work/run-$i.log)" >&2
        exit 1
    fi
done

python3 - "$work" "$runs" "$target_dir" "$quick" <<'PY'
import json
import os
import statistics
import sys

work, runs, target, quick = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
# p256 runs TLS_AES_128_GCM_SHA256 over secp256r1, the others ChaCha20-Poly1305 over x25519.
CASES = [("ephemeral-dh", "ed25519"), ("certificate", "ed25519"),
         ("ephemeral-dh", "rsa2048"), ("certificate", "rsa2048"),
         ("ephemeral-dh", "p256"), ("certificate", "p256")]
SIZES = [1024, 16384]
SUITES = ["chacha20-poly1305", "aes-128-gcm"]


def read_run(i):
    """full benchmark id -> median time per iteration in ns, for run i."""
    times = {}
    for root, _, files in os.walk(os.path.join(work, f"criterion-{i}")):
        if os.path.basename(root) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(root, "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(root, "estimates.json")) as f:
            times[full_id] = json.load(f)["median"]["point_estimate"]
    return times


per_run = [read_run(i) for i in range(1, runs + 1)]
memory_runs = []
for i in range(1, runs + 1):
    with open(os.path.join(work, f"memory-{i}.json")) as f:
        memory_runs.append(json.load(f))


def figure(full_id):
    values = [r[full_id] for r in per_run if full_id in r]
    if len(values) != runs:
        sys.exit(f"bench.sh: {full_id} is missing from some runs")
    med = statistics.median(values)
    return {"median": med, "spread": (max(values) - min(values)) / med, "runs": values}


def pct(spread):
    return f"±{spread * 100:.1f}%"


handshake, details = [], {"handshake": [], "record": []}
rows = []
for path, key in CASES:
    f = {f"{impl}-{m}": figure(f"hs/{path}/{key}/{impl}-{m}")
         for impl in ("keylab", "rustls", "floor") for m in ("pair", "client", "server")}
    hs = {impl: 1e9 / f[f"{impl}-pair"]["median"] for impl in ("keylab", "rustls", "floor")}
    handshake.append({
        "path": path,
        "key": key,
        "keylab_hs_per_s": round(hs["keylab"]),
        "rustls_hs_per_s": round(hs["rustls"]),
        "floor_hs_per_s": round(hs["floor"]),
        "keylab_client_us": round(f["keylab-client"]["median"] / 1e3, 1),
        "keylab_server_us": round(f["keylab-server"]["median"] / 1e3, 1),
    })
    details["handshake"].append({"path": path, "key": key, "figures_ns": f})
    rows.append((path, key, f, hs))

record = []
rec_rows = []
for size in SIZES:
    for suite in SUITES:
        f = {impl: figure(f"record/{size}/{suite}/{impl}")
             for impl in ("keylab", "raw-aead", "rustls")}
        mib = {impl: size / (f[impl]["median"] / 1e9) / (1 << 20) for impl in f}
        record.append({
            "size": size,
            "suite": suite,
            "keylab_mib_s": round(mib["keylab"], 1),
            "raw_aead_mib_s": round(mib["raw-aead"], 1),
            "rustls_mib_s": round(mib["rustls"], 1),
        })
        details["record"].append({"size": size, "suite": suite, "figures_ns": f})
        rec_rows.append((size, suite, f, mib))

memory = {k: statistics.median(m["memory"][k] for m in memory_runs)
          for k in memory_runs[0]["memory"]}
memory = {k: int(v) for k, v in memory.items()}
details["memory_cases"] = memory_runs[0]["cases"]

summary = {"handshake": handshake, "record": record, "memory": memory}
instructions_file = os.path.join(work, "instructions.json")
instructions = None
if os.path.exists(instructions_file):
    with open(instructions_file) as f:
        instructions = json.load(f)
    summary["instructions"] = instructions
with open(os.path.join(target, "bench-summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
details["runs"] = runs
details["quick"] = quick
with open(os.path.join(target, "bench-details.json"), "w") as f:
    json.dump(details, f, indent=2)
    f.write("\n")

print()
print(f"Handshakes: complete client+server pairs per second on one core (median of {runs} runs;"
      " ± is (max - min) / median)")
print(f"{'path':<13} {'key':<8} {'keylab':>15} {'rustls':>15} {'keylab/rustls':>13}"
      f" {'floor':>15} {'keylab CPU/floor':>16}")
for path, key, f, hs in rows:
    print(f"{path:<13} {key:<8}"
          f" {hs['keylab']:>7,.0f} {pct(f['keylab-pair']['spread']):>7}"
          f" {hs['rustls']:>7,.0f} {pct(f['rustls-pair']['spread']):>7}"
          f" {hs['keylab'] / hs['rustls']:>13.2f}"
          f" {hs['floor']:>7,.0f} {pct(f['floor-pair']['spread']):>7}"
          f" {hs['floor'] / hs['keylab']:>15.2f}x")
print()
print("CPU per side, µs per handshake (time inside that side's calls)")
print(f"{'path':<13} {'key':<8} {'side':<7} {'keylab':>15} {'rustls':>15} {'floor':>15}"
      f" {'keylab/floor':>13}")
for path, key, f, _ in rows:
    for side in ("client", "server"):
        k, r, fl = (f[f"{i}-{side}"] for i in ("keylab", "rustls", "floor"))
        print(f"{path:<13} {key:<8} {side:<7}"
              f" {k['median'] / 1e3:>7.1f} {pct(k['spread']):>7}"
              f" {r['median'] / 1e3:>7.1f} {pct(r['spread']):>7}"
              f" {fl['median'] / 1e3:>7.1f} {pct(fl['spread']):>7}"
              f" {k['median'] / fl['median']:>12.2f}x")
print()
print("Records: application data sealed by one side and opened by the other, MiB/s"
      " (raw: the suite's AEAD crate alone)")
print(f"{'size':>6} {'suite':<18} {'keylab':>15} {'raw AEAD':>22} {'keylab/raw':>10}"
      f" {'rustls':>15}")
for size, suite, f, mib in rec_rows:
    print(f"{size:>6} {suite:<18}"
          f" {mib['keylab']:>7,.0f} {pct(f['keylab']['spread']):>7}"
          f" {mib['raw-aead']:>14,.0f} {pct(f['raw-aead']['spread']):>7}"
          f" {mib['keylab'] / mib['raw-aead']:>10.2f}"
          f" {mib['rustls']:>7,.0f} {pct(f['rustls']['spread']):>7}")
print()
print("Memory (certificate path, Ed25519): heap per established idle connection (mean of"
      " client and server) and peak heap during one in-memory handshake (both sides)")
print(f"  keylab {memory['keylab_bytes_per_conn']:,} B per connection,"
      f" peak {memory['keylab_peak_handshake_bytes']:,} B")
print(f"  rustls {memory['rustls_bytes_per_conn']:,} B per connection,"
      f" peak {memory['rustls_peak_handshake_bytes']:,} B")
print()
print("Targets")
ed = [(p, k, hs) for p, k, _, hs in rows if k == "ed25519"]
for p, k, hs in ed:
    ratio = hs["keylab"] / hs["rustls"]
    print(f"  {'met ' if ratio >= 1.0 else 'MISS'} {p}/{k}: keylab/rustls {ratio:.2f} (>= 1.0)")
for p, k, _, hs in rows:
    ratio = hs["floor"] / hs["keylab"]
    if k == "rsa2048":
        # The rsa crate's signing bounds these rows.
        print(f"  {'met ' if ratio <= 1.10 else 'MISS'} {p}/{k}: CPU {ratio:.2f}x the floor"
              " (<= 1.10)")
    else:
        print(f"  (reported) {p}/{k}: CPU {ratio:.2f}x the floor (timed)")
for row in instructions or []:
    if row["key"] != "ed25519":
        continue
    ratio = row["keylab"] / row["floor"]
    print(f"  {'met ' if ratio <= 1.03 else 'MISS'} {row['path']}/ed25519: {ratio:.3f}x the"
          f" floor in instructions (<= 1.03); rustls {row['rustls'] / row['floor']:.3f}x")
for size in SIZES:
    for suite in SUITES:
        r = next(r for r in record if r["size"] == size and r["suite"] == suite)
        ratio = r["keylab_mib_s"] / r["raw_aead_mib_s"]
        print(f"  {'met ' if ratio >= 0.95 else 'MISS'} {size} B {suite} records:"
              f" {ratio:.2f}x the raw AEAD (>= 0.95)")
ok = memory["keylab_bytes_per_conn"] <= memory["rustls_bytes_per_conn"]
print(f"  {'met ' if ok else 'MISS'} heap per idle connection: keylab"
      f" {memory['keylab_bytes_per_conn']:,} B, rustls {memory['rustls_bytes_per_conn']:,} B")
for case in details["memory_cases"]:
    if case["key"] != "ed25519":
        continue
    ok = case["keylab_allocations"] <= case["rustls_allocations"]
    print(f"  {'met ' if ok else 'MISS'} allocations per {case['path']}/ed25519 handshake:"
          f" keylab {case['keylab_allocations']:,}, rustls {case['rustls_allocations']:,}")
noisy = [fid for r in details["handshake"] + details["record"]
         for fid, v in r["figures_ns"].items() if v["spread"] > 0.10]
if noisy:
    print(f"\nnote: {len(noisy)} figures spread by more than 10% across runs; the machine"
          " was busy, so compare ratios with care")
print(f"\nwrote {os.path.join(target, 'bench-summary.json')}")
PY
