#!/usr/bin/env bash
# On-chain verification figures per fixture model: gas of verifyProof (the adapter) from a
# transaction receipt on a local Anvil, raw-verifier runtime bytecode size, calldata bytes.
#
# Usage: verifier-gen/bench.sh [OUT_DIR]        (default OUT_DIR: a temp dir)
# Needs: `npm ci` at the repo root; builds target/release/trustml if missing (TRUSTML=path
# overrides). Uses an insecure development SRS: figures only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$(mktemp -d)}"
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
FX="$ROOT/prover/fixtures"
PEER="$ROOT/../shared/fixtures/peer-onnx/4l_relu_conv_fc"
[ -d "$PEER" ] || PEER="/work/shared/fixtures/peer-onnx/4l_relu_conv_fc"

export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export ANVIL_STATE_DIR="$OUT/.anvil"
URL="$("$ROOT/anvil-scripts/start.sh")"
trap '"$ROOT/anvil-scripts/stop.sh" >/dev/null' EXIT

models=("digits_mlp|$FX/digits_mlp.onnx|$FX/digits_calibration.json|$FX/digits_mlp.input.json"
        "digits_cnn|$FX/digits_cnn.onnx|$FX/digits_calibration.json|$FX/digits_cnn.input.json")
[ -f "$PEER/network.onnx" ] && models+=("4l_relu_conv_fc|$PEER/network.onnx|$PEER/input.json|$PEER/input.json")

printf '%-18s %4s %8s %14s %14s %12s %10s\n' model k inputs "verify gas" "runtime bytes" "calldata B" "proof B"
for spec in "${models[@]}"; do
  IFS='|' read -r name onnx cal input <<<"$spec"
  d="$OUT/$name"
  {
    "$TRUSTML" compile "$onnx" --calibrate "$cal" -o "$d"
    k=$(python3 -c "import json,sys; print(json.load(open('$d/settings.json'))['k'])")
    "$TRUSTML" srs gen --k "$k" --seed 7 -o "$d/dev.srs"
    "$TRUSTML" setup "$d" --srs "$d/dev.srs"
    "$TRUSTML" prove "$d" "$input"
    "$TRUSTML" evm gen-verifier "$d"
    "$TRUSTML" evm deploy "$d" --rpc-url "$URL"
  } >"$d.log" 2>&1 || { printf '%-18s failed: see %s\n' "$name" "$d.log"; tail -3 "$d.log"; continue; }
  "$TRUSTML" evm verify "$d" "$d/proof.json" --rpc-url "$URL" --send >>"$d.log" 2>&1 || { printf '%-18s on-chain verify failed: see %s\n' "$name" "$d.log"; continue; }
  python3 - "$d" <<'PY'
import json, re, sys
d = sys.argv[1]
s = json.load(open(f"{d}/settings.json"))
e = json.load(open(f"{d}/evm.json"))
p = json.load(open(f"{d}/proof.json"))
log = open(d + ".log").read()
gas = re.findall(r"gasUsed (\d+) \((\d+) calldata bytes\)", log)[-1]
proof_bytes = (len(p["proof"]) - 2) // 2
print(f"{d.rsplit('/',1)[1]:<18} {s['k']:>4} {s['num_instances']:>8} {gas[0]:>14} {e['runtime_bytes']:>14} {gas[1]:>12} {proof_bytes:>10}")
PY
done
echo "(verify gas: receipt gasUsed of an adapter.verifyProof transaction, incl. 21000 base + calldata; calldata: ABI-encoded verifyProof call; runtime: raw verifier, EIP-170 limit 24576)"
echo "outputs in $OUT"
