#!/usr/bin/env bash
# Proof-of-training figures for the digits MLP (64 → 32 → 10): per batch size, the step
# circuit's k, key generation, proving time and peak RSS per SGD step, native verification
# per step, proof size, the gas of one on-chain step (`TrainingRegistry.submitStep`, which
# verifies through the pinned verifier), and an epoch (1,437 samples) projected from the
# per-step time, with the issue's targets as ratios (batch 8: ≤ 30 s a step, ≤ 90 min an
# epoch).
#
# Usage: prover/scripts/train-bench.sh [OUT_DIR] [BATCH…]     (default batches: 1 8 32)
#   STEPS=3 steps proven per batch size (the mean is reported). WIDE=1 proves with
#   `train init --wide` (twice the columns: faster, verified natively only, no gas).
#   NO_GAS=1 skips the chain. Needs `npm ci` at the repo root for the gas column;
#   TRUSTML=path picks the binary (default target/release, built if missing). Insecure
#   development SRS: figures only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d)}"; shift || true
BATCHES=("${@:-1 8 32}")
read -r -a BATCHES <<<"${BATCHES[*]}"
STEPS="${STEPS:-3}"
WIDE_FLAG=(); [ -n "${WIDE:-}" ] && { WIDE_FLAG=(--wide); NO_GAS=1; }
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
mkdir -p "$OUT"; cd "$OUT"
LOG="$OUT/bench.log"
t() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >>"$LOG" 2>&1; read -r s kb <"$OUT/time.txt"; echo "$s $((kb / 1024))"; }

[ -f srs.bin ] || "$TRUSTML" srs gen --k 17 -o srs.bin >>"$LOG" 2>&1
if [ -z "${NO_GAS:-}" ]; then
  export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
  export ANVIL_STATE_DIR="$OUT/.anvil"
  URL="$("$ROOT/anvil-scripts/start.sh")"
  trap '"$ROOT/anvil-scripts/stop.sh" >/dev/null' EXIT
  CHAIN=(--rpc-url "$URL" --training "$OUT/training.json")
  "$TRUSTML" train deploy "${CHAIN[@]}" >>"$LOG" 2>&1
fi

printf '| batch | k | keygen s | prove s / step | prove MiB | verify ms / step | proof B | submitStep gas | epoch (projected) | target |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for B in "${BATCHES[@]}"; do
  D="$OUT/run-b$B"
  rm -rf "$D"
  read -r ks _ < <(t "$TRUSTML" train init "$D" --steps "$STEPS" --batch "$B" "${WIDE_FLAG[@]}" --srs srs.bin)
  read -r ps pmb < <(t "$TRUSTML" train prove "$D")
  k=$(python3 -c "import json; print(json.load(open('$D/train.json'))['k'])")
  vms=$("$TRUSTML" train verify "$D" 2>/dev/null | grep -o '([0-9.]* ms)' | tr -d '(ms)' | tr -d ' ')
  bytes=$(python3 -c "import json; print(len(json.load(open('$D/proofs/step-000000.json'))['proof']) // 2 - 1)")
  gas="–"
  if [ -z "${NO_GAS:-}" ]; then
    "$TRUSTML" train register-circuit "${CHAIN[@]}" "$D" >>"$LOG" 2>&1
    gas=$("$TRUSTML" train submit "${CHAIN[@]}" "$D" 2>>"$LOG" | tee -a "$LOG" \
      | grep 'verified on chain' | grep -o 'gasUsed [0-9]*' | cut -d' ' -f2 \
      | awk '{ s += $1; n++ } END { if (n) printf "%d", s / n }')
  fi
  python3 - "$B" "$k" "$ks" "$ps" "$pmb" "$vms" "$bytes" "$gas" "$STEPS" <<'PY'
import sys
b, k, ks, ps, pmb, vms, size, gas, steps = sys.argv[1:]
b, steps = int(b), int(steps)
per = float(ps) / steps
per_step_verify = float(vms) / steps
epoch_steps = -(-1437 // b)
epoch = per * epoch_steps
target = ""
if b == 8:
    target = f"step {per:.1f} s / 30 s = {per / 30:.2f}×; epoch {epoch / 60:.0f} min / 90 min = {epoch / 5400:.2f}×"
print(f"| {b} | {k} | {float(ks):.1f} | {per:.1f} | {pmb} | {per_step_verify:.1f} | {size} | {gas} | "
      f"{epoch_steps} steps, {epoch / 60:.0f} min | {target} |")
PY
done
echo "(log: $LOG)" >&2
