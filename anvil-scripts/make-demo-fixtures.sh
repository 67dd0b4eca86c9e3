#!/usr/bin/env bash
# Regenerates anvil-scripts/demo/: the committed, pre-computed proofs that `make up` seeds a
# local marketplace with (`trustml demo seed`), so nobody waits for key generation or proving.
#
#   bash anvil-scripts/make-demo-fixtures.sh      (≈ 1 minute; needs node_modules for anvil)
#
# It builds the served generator with models.sh (keys from fixed INSECURE dev seeds), proves three
# listings of example prompts (sellers: Anvil accounts 0, 1, 0) with their metadata, makes the
# delivery circuit, deploys on a throw-away Anvil exactly as `demo seed` does (so the
# marketplace address, and with it order 1's tag, are the ones a fresh Anvil gives), buys
# listing 1 as account 2 and proves the delivery of order 1. Finally it seeds a second fresh
# Anvil from the new fixtures to check them.
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
ln -s "$WORK/models/generator" "$WORK/gen"
ln -s "$WORK/models/generator/delivery" "$WORK/deliv"
cp "$WORK/gen/verifier.bin" "$OUT/listing-verifier.hex"
cp "$WORK/deliv/verifier.bin" "$OUT/delivery-verifier.hex"

# Three listings: (example index, seller, title, price in wei).
python3 - "$GEN/generator_prompts.json" "$WORK" <<'EOF'
import json, sys
ex = json.load(open(sys.argv[1]))["examples"]
for i, e in enumerate(ex[:3], 1):
    json.dump({"input_data": [[float(t) for t in e["prompt"]]]}, open(f"{sys.argv[2]}/prompt-{i}.json", "w"))
EOF
TITLES=("A handwritten seven" "A handwritten six" "A handwritten three")
LABELS=(7 6 3)
WHO=(0 1 0)
for i in 1 2 3; do
  s=${WHO[$((i-1))]}
  $T prompt prove-listing "$WORK/gen" "$WORK/prompt-$i.json" --seller "${SELLERS[$s]}" \
    -o "$OUT/listing-$i.json" --secret "$WORK/listing-$i.secret.json"
  $T prompt metadata "$OUT/listing-$i.json" --title "${TITLES[$((i-1))]}" \
    --description "A 6-token prompt that makes the generator draw the digit ${LABELS[$((i-1))]} (8×8 grey). The preview is the proven output; the prompt stays hidden until you buy it." \
    --tag digits --tag "digit-${LABELS[$((i-1))]}" -o "$OUT/listing-$i.metadata.json"
done
$T prompt keygen -o "$OUT/buyer.json"

# A throw-away Anvil: deploy as `demo seed` does (account 0, same transactions), list #1, buy it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPC="$(ANVIL_STATE_DIR="$WORK/anvil" ANVIL_PORT=$PORT anvil-scripts/start.sh)"
M=(--rpc-url "$RPC" --market "$WORK/market.json")
$T market deploy "${M[@]}" --listing-dir "$WORK/gen" --delivery-dir "$WORK/deliv" --fee-bps 100
$T market list "${M[@]}" "$OUT/listing-1.json" --price 0.01eth --metadata "$OUT/listing-1.metadata.json"
$T market buy "${M[@]}" --listing-id 1 --buyer-key "$OUT/buyer.json" --private-key "${KEYS[2]}"
$T prompt prove-delivery "$WORK/deliv" --secret "$WORK/listing-1.secret.json" --buyer-key "$OUT/buyer.json" \
  --order 1 --market "$WORK/market.json" -o "$OUT/delivery-1.json"
ANVIL_STATE_DIR="$WORK/anvil" ANVIL_PORT=$PORT anvil-scripts/stop.sh >/dev/null

python3 - "$OUT" "$WORK" <<'EOF'
import json, sys
out, work = sys.argv[1], sys.argv[2]
m = json.load(open(f"{work}/market.json"))
def circuit(d, verifier, proof):
    e = json.load(open(f"{work}/{d}/evm.json"))
    p = json.load(open(f"{out}/{proof}"))["proof"]
    return {"verifier": verifier, "num_public_inputs": e["num_instances"],
            "proof_len": len(p.removeprefix("0x")) // 2, "vk_digest": e["vk_digest"]}
json.dump({
    "marketplace": m["marketplace"], "chain_id": m["chain_id"],
    "listing": circuit("gen", "listing-verifier.hex", "listing-1.json"),
    "delivery": circuit("deliv", "delivery-verifier.hex", "delivery-1.json"),
    "listings": [{"listing": f"listing-{i}.json", "metadata": f"listing-{i}.metadata.json",
                  "price": str(p), "seller": s}
                 for i, p, s in [(1, 10**16, 0), (2, 2 * 10**16, 1), (3, 5 * 10**15, 0)]],
    "sale": {"buyer_key": "buyer.json", "buyer": 2, "delivery": "delivery-1.json"},
}, open(f"{out}/demo.json", "w"), indent=2)
EOF

# Check: a fresh Anvil seeds from the fixtures alone.
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPC2="$(ANVIL_STATE_DIR="$WORK/anvil2" ANVIL_PORT=$PORT2 anvil-scripts/start.sh)"
$T demo seed --fixtures "$OUT" --rpc-url "$RPC2" --market "$WORK/market2.json"
ANVIL_STATE_DIR="$WORK/anvil2" ANVIL_PORT=$PORT2 anvil-scripts/stop.sh >/dev/null
du -sh "$OUT"
echo "wrote $OUT"
