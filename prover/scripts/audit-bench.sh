#!/usr/bin/env bash
# Accuracy-audit figures: an ε = 5 %, δ = 0.1 audit (n = 600 samples, drawn with
# replacement by the seed) of the digits CNN in prover/fixtures on its 360 held-out digits,
# for a few batch sizes b: keys, total proving time and peak RSS for all ⌈n/b⌉ batches,
# proof size, the verifier's gas per batch and per audited sample on a local Anvil, and
# the proven accuracy next to the float model's on the same sampled indices.
#
# Usage: prover/scripts/audit-bench.sh [OUT_DIR] [B…]     (default: a temp dir; b = 20 48 100,
#        the largest batches at k = 17, 18, 19). SAMPLES=n overrides n (e.g. a quick run of
#        one batch); SRS_K the SRS size (19). A last row proves ONE_BY_ONE (5) samples one per
#        proof, as published evaluations do, and extrapolates that to n.
# Needs `npm ci` at the repo root; TRUSTML=path picks the binary (default target/release,
# built if missing). Insecure development SRSs: figures only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d)}"; shift || true
BS=("${@:-20 48 100}"); read -r -a BS <<<"${BS[*]}"
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
FX="$ROOT/prover/fixtures"
N="${SAMPLES:-$("$TRUSTML" audit sample-size --epsilon 0.05 --delta 0.1 | cut -d' ' -f1)}"
export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export ANVIL_STATE_DIR="$OUT/.anvil"
URL="$("$ROOT/anvil-scripts/start.sh")"
trap '"$ROOT/anvil-scripts/stop.sh" >/dev/null' EXIT
LOG="$OUT/bench.log"
cd "$OUT"
t() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >>"$LOG" 2>&1; read -r s kb <"$OUT/time.txt"; echo "$s $((kb / 1024))"; }
python3 - "$FX/digits_test.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
json.dump({"inputs": d["inputs"], "labels": d["labels"]}, open("data.json", "w"))
PY
echo '{"weights": "0x2a"}' >ws.json
"$TRUSTML" compile "$FX/digits_cnn.onnx" --calibrate "$FX/digits_calibration.json" -o cnn \
  --weights-visibility hashed >>"$LOG" 2>&1
"$TRUSTML" audit commit-dataset data.json --model cnn -o ds --public >>"$LOG" 2>&1
SEED=0x5eed
printf '| b | batches | k | setup s | prove s (all) | s/sample | peak RSS MiB | proof B | verifyProof gas | gas/sample | accuracy |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for B in "${BS[@]}"; do
  A="audit-b$B"
  k=0
  [ -f srs.bin ] || "$TRUSTML" srs gen --k "${SRS_K:-19}" --seed 9 -o srs.bin >>"$LOG" 2>&1
  read -r setup_s _ < <(t "$TRUSTML" audit setup cnn --dataset ds --data data.json --batch "$B" --srs srs.bin -o "$A")
  k=$(python3 -c "import json; print(json.load(open('$A/audit.json'))['k'])")
  read -r prove_s prove_mb < <(t "$TRUSTML" audit prove "$A" --data data.json --dataset ds --weights-salts ws.json --seed $SEED --samples "$N")
  m=$(( (N + B - 1) / B ))
  acc=$(grep -o '[0-9]*/[0-9]* correct' "$LOG" | tail -1)
  # The float CNN on the same ordinals' samples (digits_test.json's cnn_float_argmax).
  "$TRUSTML" audit samples --dataset ds/dataset.json --seed $SEED --count $((m * B)) >idx.txt
  float=$(python3 -c "
import json
d = json.load(open('$FX/digits_test.json'))
idx = [int(l.split()[1]) for l in open('idx.txt')]
print(f\"{sum(d['cnn_float_argmax'][i] == d['labels'][i] for i in idx)}/{len(idx)} float\")")
  acc="$acc, $float"
  bytes=$(python3 -c "import json; print(len(json.load(open('$A/proofs/batch-0.json'))['proof'])//2-1)")
  "$TRUSTML" evm gen-verifier "$A" >>"$LOG" 2>&1
  "$TRUSTML" evm deploy "$A" --rpc-url "$URL" >>"$LOG" 2>&1
  "$TRUSTML" evm verify "$A" "$A/proofs/batch-0.json" --rpc-url "$URL" --send >>"$LOG" 2>&1
  gas=$(grep -o 'gasUsed [0-9]*' "$LOG" | tail -1 | cut -d' ' -f2)
  printf '| %s | %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n' "$B" "$m" "$k" "$setup_s" "$prove_s" \
    "$(python3 -c "print($prove_s/($m*$B))")" "$prove_mb" "$bytes" "$gas" "$((gas / B))" "$acc"
done
# One sample per proof: a few proofs, extrapolated to n.
ONE="${ONE_BY_ONE:-5}"
A=audit-b1
read -r setup_s _ < <(t "$TRUSTML" audit setup cnn --dataset ds --data data.json --batch 1 --srs srs.bin -o "$A")
k=$(python3 -c "import json; print(json.load(open('$A/audit.json'))['k'])")
read -r prove_s prove_mb < <(t "$TRUSTML" audit prove "$A" --data data.json --dataset ds --weights-salts ws.json --seed $SEED --samples "$ONE")
"$TRUSTML" evm gen-verifier "$A" >>"$LOG" 2>&1
"$TRUSTML" evm deploy "$A" --rpc-url "$URL" >>"$LOG" 2>&1
"$TRUSTML" evm verify "$A" "$A/proofs/batch-0.json" --rpc-url "$URL" --send >>"$LOG" 2>&1
gas=$(grep -o 'gasUsed [0-9]*' "$LOG" | tail -1 | cut -d' ' -f2)
bytes=$(python3 -c "import json; print(len(json.load(open('$A/proofs/batch-0.json'))['proof'])//2-1)")
per=$(python3 -c "print($prove_s/$ONE)")
printf '| 1 (one per proof; %s proven, extrapolated) | %s | %s | %s | ≈ %.0f | %.2f | %s | %s | %s | %s | – |\n' "$ONE" "$N" "$k" "$setup_s" \
  "$(python3 -c "print($per*$N)")" "$per" "$prove_mb" "$bytes" "$gas" "$gas"
echo "log: $LOG"
