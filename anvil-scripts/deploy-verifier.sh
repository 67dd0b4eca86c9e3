#!/usr/bin/env bash
# Deploy the Solidity verifier of a model directory (with keys) plus its ProofVerifierAdapter
# to $RPC_URL (default: the anvil of start.sh on $ANVIL_PORT), and write DIR/deployment.json.
# Usage: anvil-scripts/deploy-verifier.sh DIR [extra `trustml evm deploy` flags]
# Key: --private-key HEX or $TRUSTML_PRIVATE_KEY; on chain 31337 Anvil's first dev key.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:?usage: deploy-verifier.sh MODEL_DIR [flags]}"; shift
RPC_URL="${RPC_URL:-http://127.0.0.1:${ANVIL_PORT:-8545}}"
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
"$TRUSTML" evm gen-verifier "$DIR"
"$TRUSTML" evm deploy "$DIR" --rpc-url "$RPC_URL" "$@"
