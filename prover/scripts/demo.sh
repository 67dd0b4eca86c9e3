#!/usr/bin/env bash
# A whole run of the product on committed, trained models (every SRS here is an INSECURE
# development one):
#   1. verified inference: compile an ONNX CNN for 8×8 digits, keys, prove one inference,
#      verify it, then verify it again on a local Anvil chain through a generated verifier;
#   2. the prompt marketplace: a seller proves that a hidden 24-character text prompt, decoded
#      greedily by the committed character language model, yields the public completion; lists
#      it on chain, a buyer pays, the seller delivers it encrypted with a proof, is paid, and
#      the buyer decrypts the prompt; the image generator is allowed as a second listing kind
#      and one of its prompts listed too.
# Needs the npm tools (`make demo` runs `npm ci` first when node_modules is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/demo}
FIX=prover/fixtures
GEN=$FIX/prompt_generator
LM=$FIX/text_lm
cargo build --release -p trustml-cli
T=target/release/trustml
rm -rf "$OUT" && mkdir -p "$OUT"
k_of() { sed -n 's/^  "k": \([0-9]*\),/\1/p' "$1"; }

echo "== 1. verified inference"
$T compile $FIX/digits_cnn.onnx --calibrate $FIX/digits_calibration.json -o "$OUT/cnn"
K=$(k_of "$OUT/cnn/settings.json")
$T srs gen --k "$K" -o "$OUT/dev-k$K.srs"
$T setup "$OUT/cnn" --srs "$OUT/dev-k$K.srs"
$T inspect "$OUT/cnn"
$T prove "$OUT/cnn" $FIX/digits_cnn.input.json
$T verify "$OUT/cnn" "$OUT/cnn/proof.json"

# A private chain for the rest (a free port, stopped on exit).
export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export ANVIL_STATE_DIR="$OUT/.anvil"
RPC="$(anvil-scripts/start.sh)"
trap 'anvil-scripts/stop.sh >/dev/null' EXIT
echo "== on chain ($RPC)"
$T evm gen-verifier "$OUT/cnn"
$T evm deploy "$OUT/cnn" --rpc-url "$RPC"
$T evm verify "$OUT/cnn" "$OUT/cnn/proof.json" --rpc-url "$RPC" --send

echo "== 2. prompt marketplace"
M=(--rpc-url "$RPC" --market "$OUT/market.json")
BUYER_ETH_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d # Anvil account 1
SELLER_ADDR=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 # Anvil account 0, the default sender
$T compile $LM/text_lm.onnx --calibrate $LM/text_lm.calibration.json -o "$OUT/text" --listing \
  --text-prompt 24 --vocab $LM/vocab.json --scale 8
K=$(k_of "$OUT/text/settings.json")
$T srs gen --k "$K" -o "$OUT/dev-k$K.srs"
$T setup "$OUT/text" --srs "$OUT/dev-k$K.srs"
PROMPT="def __init__(self, data="
$T prompt prove-listing "$OUT/text" --text "$PROMPT" --seller $SELLER_ADDR -o "$OUT/listing.json"
$T srs gen --k 12 -o "$OUT/dev-k12.srs"
$T prompt setup-delivery "$OUT/deliv" --model "$OUT/text" --srs "$OUT/dev-k12.srs"
$T market deploy "${M[@]}" --listing-dir "$OUT/text" --delivery-dir "$OUT/deliv"
$T market list "${M[@]}" "$OUT/listing.json" --price 0.01eth
$T prompt keygen -o "$OUT/buyer.json"
$T market buy "${M[@]}" --listing-id 1 --buyer-key "$OUT/buyer.json" --private-key $BUYER_ETH_KEY
$T market deliver "${M[@]}" --order 1 --secret "$OUT/listing.secret.json" --delivery-dir "$OUT/deliv"
$T market withdraw "${M[@]}"
echo "the seller's prompt: \"$PROMPT\""
echo -n "the buyer decrypts:  "
$T market receive "${M[@]}" --order 1 --key "$OUT/buyer.json" --model "$OUT/text"

echo "== 3. a second listing kind: the 8×8 image generator"
$T compile $GEN/generator.onnx --calibrate $GEN/generator_calibration.json -o "$OUT/gen" --listing
K=$(k_of "$OUT/gen/settings.json")
$T srs gen --k "$K" -o "$OUT/dev-k$K.srs"
$T setup "$OUT/gen" --srs "$OUT/dev-k$K.srs"
$T prompt setup-delivery "$OUT/gen-deliv" --model "$OUT/gen" --srs "$OUT/dev-k12.srs"
$T market add-pair "${M[@]}" --listing-dir "$OUT/gen" --delivery-dir "$OUT/gen-deliv"
$T prompt prove-listing "$OUT/gen" $GEN/generator.input.json --seller $SELLER_ADDR -o "$OUT/gen-listing.json"
$T market list "${M[@]}" "$OUT/gen-listing.json" --price 0.005eth --listing-dir "$OUT/gen"
