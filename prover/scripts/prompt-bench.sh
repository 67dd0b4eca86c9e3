#!/usr/bin/env bash
# Prompt marketplace figures: proving time and peak memory of the listing and delivery
# proofs, and on-chain gas (list, buy, deliver, and verifyProof alone) on a local Anvil,
# with the default listing kind, a text prompt (prover/fixtures/text_lm: prompt 24
# characters, completion 8), or with KIND=image the 8×8 generator (prover/fixtures/prompt_generator).
#
# Usage: [KIND=text|image] prover/scripts/prompt-bench.sh [OUT_DIR]      (default OUT_DIR: a temp dir)
# Needs: `npm ci` at the repo root; builds target/release/trustml if missing (TRUSTML=path
# overrides). Uses insecure development SRSs: figures only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d)}"
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
KIND="${KIND:-text}"
export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export ANVIL_STATE_DIR="$OUT/.anvil"
URL="$("$ROOT/anvil-scripts/start.sh")"
trap '"$ROOT/anvil-scripts/stop.sh" >/dev/null' EXIT
BUYER_TX_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d  # Anvil account 1
LOG="$OUT/bench.log"
cd "$OUT"
t() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >>"$LOG" 2>&1; read -r s kb <"$OUT/time.txt"; echo "$s $((kb / 1024))"; }
gas() { grep -o 'gasUsed [0-9]*' "$LOG" | tail -1 | cut -d' ' -f2; }

if [ "$KIND" = text ]; then
  FX="$ROOT/prover/fixtures/text_lm"
  "$TRUSTML" compile "$FX/text_lm.onnx" --calibrate "$FX/text_lm.calibration.json" -o gen \
    --listing --text-prompt 24 --vocab "$FX/vocab.json" --scale 8 >>"$LOG" 2>&1
  PROMPT=(--text " all of the bits are use")
else
  FX="$ROOT/prover/fixtures/prompt_generator"
  "$TRUSTML" compile "$FX/generator.onnx" --calibrate "$FX/generator_calibration.json" -o gen \
    --listing >>"$LOG" 2>&1
  PROMPT=("$FX/generator.input.json")
fi
k=$(python3 -c "import json; print(json.load(open('gen/settings.json'))['k'])")
"$TRUSTML" srs gen --k "$k" --seed 7 -o gen.srs >>"$LOG" 2>&1
read -r setup_s _ < <(t "$TRUSTML" setup gen --srs gen.srs)
read -r list_s list_mb < <(t "$TRUSTML" prompt prove-listing gen "${PROMPT[@]}" --seller 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266)
"$TRUSTML" srs gen --k 12 --seed 8 -o deliv.srs >>"$LOG" 2>&1
"$TRUSTML" prompt setup-delivery deliv --model gen --srs deliv.srs >>"$LOG" 2>&1
dk=$(python3 -c "import json; print(json.load(open('deliv/delivery.json'))['k'])")
"$TRUSTML" prompt keygen -o buyer.json >>"$LOG" 2>&1
"$TRUSTML" market deploy --rpc-url "$URL" --listing-dir gen --delivery-dir deliv >>"$LOG" 2>&1
"$TRUSTML" market list --rpc-url "$URL" gen/listing.json --price 0.01eth >>"$LOG" 2>&1; list_gas=$(gas)
"$TRUSTML" market buy --rpc-url "$URL" --listing-id 1 --buyer-key buyer.json --private-key $BUYER_TX_KEY >>"$LOG" 2>&1; buy_gas=$(gas)
read -r deliv_s deliv_mb < <(t "$TRUSTML" prompt prove-delivery deliv --secret gen/listing.secret.json --buyer-key buyer.json --order 1)
"$TRUSTML" market deliver --rpc-url "$URL" --order 1 --proof deliv/delivery-1.json >>"$LOG" 2>&1; deliver_gas=$(gas)
"$TRUSTML" evm verify deliv deliv/delivery-1.json --rpc-url "$URL" --address "$(python3 -c "import json; print(json.load(open('market.json'))['delivery']['adapter'])")" --send >>"$LOG" 2>&1; dv_gas=$(gas)
"$TRUSTML" evm verify gen gen/listing.json --rpc-url "$URL" --address "$(python3 -c "import json; print(json.load(open('market.json'))['listing']['adapter'])")" --send >>"$LOG" 2>&1; lv_gas=$(gas)
got=$("$TRUSTML" market receive --rpc-url "$URL" --order 1 --key buyer.json --model gen)
rt() { python3 -c "import json; print(json.load(open('$1/evm.json'))['runtime_bytes'])"; }

echo "listing kind: $KIND"
printf '%-10s %3s %9s %9s %14s %12s %16s\n' proof k "prove s" "RSS MiB" "verifyProof gas" "tx gas" "verifier bytes"
printf '%-10s %3s %9s %9s %14s %12s %16s\n' listing "$k" "$list_s" "$list_mb" "$lv_gas" "$list_gas (list)" "$(rt gen)"
printf '%-10s %3s %9s %9s %14s %12s %16s\n' delivery "$dk" "$deliv_s" "$deliv_mb" "$dv_gas" "$deliver_gas (deliver)" "$(rt deliv)"
echo "buy: $buy_gas gas; listing setup ${setup_s} s; targets: listing proof <= 90 s (text), delivery <= 500k gas ($(python3 -c "print(f'{$deliver_gas/500000:.2f}')") of it)"
echo "buyer decrypted: $got"
echo "log: $LOG"
