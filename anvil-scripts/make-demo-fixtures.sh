#!/usr/bin/env bash
# Regenerates anvil-scripts/demo/: the committed, pre-computed proofs that `make up` seeds a
# local marketplace with (`trustml demo seed`), so nobody waits for key generation or proving.
#
#   bash anvil-scripts/make-demo-fixtures.sh      (≈ 3 minutes; needs node_modules for anvil)
#
# It builds the served models with models.sh (keys from fixed INSECURE dev seeds), proves three
# listings with their metadata — two text prompts (sellers: Anvil accounts 0 and 1) and one
# image prompt of the generator (account 0) —, deploys on a throw-away Anvil exactly as `demo
# seed` does (the text pair first, then the image pair: so the marketplace address, and with
# it order 1's tag, are the ones a fresh Anvil gives), buys listing 1 as account 2 and proves
# the delivery of order 1. Finally it seeds a second fresh Anvil from the new fixtures to
# check them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=anvil-scripts/demo
WORK="$(mktemp -d)"
trap 'ANVIL_STATE_DIR=$WORK/anvil ANVIL_PORT=$PORT anvil-scripts/stop.sh >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
cargo build -q -p trustml-cli
T=target/debug/trustml
GEN=prover/fixtures/prompt_generator
SELLERS=(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)
KEYS=(0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
      0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
      0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a)

rm -rf "$OUT" && mkdir -p "$OUT"
# The same keys `make up` serves (fixed development seeds: see models.sh).
bash anvil-scripts/models.sh "$WORK/models"
TXT="$WORK/models/text"
GENM="$WORK/models/generator"
cp "$TXT/verifier.bin" "$OUT/listing-verifier.hex"
cp "$TXT/delivery/verifier.bin" "$OUT/delivery-verifier.hex"
cp "$GENM/verifier.bin" "$OUT/image-listing-verifier.hex"
cp "$GENM/delivery/verifier.bin" "$OUT/image-delivery-verifier.hex"

# Three listings: two text prompts (the default kind), one image prompt.
# (model dir, prompt, seller, title, description, tags)
python3 - "$GEN/generator_prompts.json" "$WORK" <<'EOF2'
import json, sys
e = json.load(open(sys.argv[1]))["examples"][0]
json.dump({"input_data": [[float(t) for t in e["prompt"]]]}, open(f"{sys.argv[2]}/prompt-3.json", "w"))
EOF2
$T prompt prove-listing "$TXT" --text "def __init__(self, data=" --seller "${SELLERS[0]}" \
  -o "$OUT/listing-1.json" --secret "$WORK/listing-1.secret.json"
$T prompt metadata "$OUT/listing-1.json" --title "Completes a Python constructor" \
  --description "A hidden 24-character line of Python; the character model completes it with the 8 characters shown. Buy it to read the prompt." \
  --tag text --tag python -o "$OUT/listing-1.metadata.json"
$T prompt prove-listing "$TXT" --text " all of the bits are use" --seller "${SELLERS[1]}" \
  -o "$OUT/listing-2.json" --secret "$WORK/listing-2.secret.json"
$T prompt metadata "$OUT/listing-2.json" --title "Finishes a sentence about bits" \
  --description "A hidden 24-character prompt from a docstring, and the 8 characters the model writes after it." \
  --tag text --tag docstring -o "$OUT/listing-2.metadata.json"
$T prompt prove-listing "$GENM" "$WORK/prompt-3.json" --seller "${SELLERS[0]}" \
  -o "$OUT/listing-3.json" --secret "$WORK/listing-3.secret.json"
$T prompt metadata "$OUT/listing-3.json" --title "A handwritten seven" \
  --description "A 6-token prompt that makes the generator draw the digit 7 (8×8 grey). The preview is the proven output; the prompt stays hidden until you buy it." \
  --tag digits --tag digit-7 -o "$OUT/listing-3.metadata.json"
$T prompt keygen -o "$OUT/buyer.json"

# A throw-away Anvil: deploy as `demo seed` does (account 0, same transactions), allow the
# image kind, list #1, buy it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPC="$(ANVIL_STATE_DIR="$WORK/anvil" ANVIL_PORT=$PORT anvil-scripts/start.sh)"
M=(--rpc-url "$RPC" --market "$WORK/market.json")
$T market deploy "${M[@]}" --listing-dir "$TXT" --delivery-dir "$TXT/delivery" --fee-bps 100
$T market add-pair "${M[@]}" --listing-dir "$GENM" --delivery-dir "$GENM/delivery"
$T market list "${M[@]}" "$OUT/listing-1.json" --price 0.01eth --metadata "$OUT/listing-1.metadata.json"
$T market buy "${M[@]}" --listing-id 1 --buyer-key "$OUT/buyer.json" --private-key "${KEYS[2]}"
$T prompt prove-delivery "$TXT/delivery" --secret "$WORK/listing-1.secret.json" --buyer-key "$OUT/buyer.json" \
  --order 1 --market "$WORK/market.json" -o "$OUT/delivery-1.json"
ANVIL_STATE_DIR="$WORK/anvil" ANVIL_PORT=$PORT anvil-scripts/stop.sh >/dev/null

python3 - "$OUT" "$WORK" <<'EOF2'
import json, sys
out, work = sys.argv[1], sys.argv[2]
m = json.load(open(f"{work}/market.json"))
def circuit(d, verifier):
    e = json.load(open(f"{work}/models/{d}/evm.json"))
    return {"verifier": verifier, "num_public_inputs": e["num_instances"],
            "proof_len": e["proof_len"], "vk_digest": e["vk_digest"]}
json.dump({
    "marketplace": m["marketplace"], "chain_id": m["chain_id"],
    "listing": circuit("text", "listing-verifier.hex"),
    "delivery": circuit("text/delivery", "delivery-verifier.hex"),
    "pairs": [{"listing": circuit("generator", "image-listing-verifier.hex"),
               "delivery": circuit("generator/delivery", "image-delivery-verifier.hex")}],
    "listings": [{"listing": f"listing-{i}.json", "metadata": f"listing-{i}.metadata.json",
                  "price": str(p), "seller": s, "pair": k}
                 for i, p, s, k in [(1, 10**16, 0, 0), (2, 2 * 10**16, 1, 0), (3, 5 * 10**15, 0, 1)]],
    "sale": {"buyer_key": "buyer.json", "buyer": 2, "delivery": "delivery-1.json"},
}, open(f"{out}/demo.json", "w"), indent=2)
EOF2

# Check: a fresh Anvil seeds from the fixtures alone.
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPC2="$(ANVIL_STATE_DIR="$WORK/anvil2" ANVIL_PORT=$PORT2 anvil-scripts/start.sh)"
$T demo seed --fixtures "$OUT" --rpc-url "$RPC2" --market "$WORK/market2.json"
ANVIL_STATE_DIR="$WORK/anvil2" ANVIL_PORT=$PORT2 anvil-scripts/stop.sh >/dev/null
du -sh "$OUT"
echo "wrote $OUT"
