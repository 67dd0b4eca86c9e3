#!/usr/bin/env bash
# Breadth check: compile, set up, prove and verify every model in a folder of EZKL-style
# examples (MODEL/network.onnx + MODEL/input.json), and compare the proven outputs with
# the float outputs (`output_data` in input.json, where present).
#
#   bash prover/scripts/peer-sweep.sh [DIR]      # default ../shared/fixtures/peer-onnx
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$ROOT/../shared/fixtures/peer-onnx}
WORK=${WORK:-$ROOT/out/sweep}
[ -d "$DIR" ] || { echo "no model folder at $DIR"; exit 1; }
cargo build --release -q -p trustml-cli --manifest-path "$ROOT/Cargo.toml"
T=$ROOT/target/release/trustml
mkdir -p "$WORK"
printf '%-22s %3s %8s %8s %6s %12s %s\n' model k prove_s rss_MiB valid argmax max_abs_err
for M in "$DIR"/*/; do
  name=$(basename "$M"); W=$WORK/$name; rm -rf "$W"; mkdir -p "$W"
  if ! $T compile "$M/network.onnx" --calibrate "$M/input.json" -o "$W/m" >"$W/compile.log" 2>&1; then
    printf '%-22s %s\n' "$name" "compile failed: $(grep -m1 error "$W/compile.log")"; continue
  fi
  k=$(sed -n 's/^  "k": \([0-9]*\),/\1/p' "$W/m/settings.json")
  srs=$WORK/dev-k$k.srs
  [ -f "$srs" ] || $T srs gen --k "$k" -o "$srs" --seed 1 >/dev/null 2>&1
  $T setup "$W/m" --srs "$srs" >"$W/setup.log" 2>&1 || { printf '%-22s %s\n' "$name" "setup failed"; continue; }
  /usr/bin/time -f "%e %M" -o "$W/prove.time" $T prove "$W/m" "$M/input.json" >"$W/prove.log" 2>&1 || { printf '%-22s %s\n' "$name" "prove failed: $(grep -m1 error "$W/prove.log")"; continue; }
  valid=no; $T verify "$W/m" "$W/m/proof.json" >/dev/null 2>&1 && valid=yes
  read -r ps kb < "$W/prove.time"
  cmp=$(python3 - "$M/input.json" "$W/m/proof.json" <<'PY'
import json, sys
inp = json.load(open(sys.argv[1])); pf = json.load(open(sys.argv[2]))
want = inp.get("output_data")
if not want:
    print("n/a (no output_data)"); sys.exit()
err, same = 0.0, True
for w, o in zip(want, pf["outputs"]):
    got = o["values"]
    err = max([err] + [abs(a - b) for a, b in zip(got, w)])
    if len(w) > 1:
        same &= max(range(len(w)), key=w.__getitem__) == max(range(len(got)), key=got.__getitem__)
print(f"{'match' if same else 'DIFFERS':>12} {err:.5f}")
PY
)
  printf '%-22s %3s %8s %8s %6s %s\n' "$name" "$k" "$ps" "$((kb / 1024))" "$valid" "$cmp"
done
