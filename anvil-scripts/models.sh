#!/usr/bin/env bash
# Builds the served listing model for the local stack: the prompt generator compiled for
# listings, with its proving keys and the delivery keys in MODEL/delivery, from INSECURE
# development SRS files made from fixed seeds. The seeds make the keys reproducible, so the
# verifiers in the committed demo fixtures (anvil-scripts/demo, made by make-demo-fixtures.sh
# through this script) accept proofs from these keys: `make up` rebuilds them in ≈ 5 s and the
# server's proving jobs (sell, deliver) work against the seeded chain.
#
#   bash anvil-scripts/models.sh OUT_DIR      → OUT_DIR/generator (+ /delivery)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: models.sh OUT_DIR}"
T="${CARGO_TARGET_DIR:-$ROOT/target}/debug/trustml"
GEN="$ROOT/prover/fixtures/prompt_generator"
M="$OUT/generator"
if [ -f "$M/delivery/circuit.json" ] && [ -f "$M/evm.json" ]; then exit 0; fi
rm -rf "$M" && mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$T" compile "$GEN/generator.onnx" --calibrate "$GEN/generator_calibration.json" -o "$M" --listing >/dev/null
K=$(sed -n 's/^  "k": \([0-9]*\),/\1/p' "$M/settings.json")
# Development-only seeds (public, hence INSECURE): the demo's verifiers are made from them.
"$T" srs gen --k "$K" --seed 7001 -o "$TMP/listing.srs" >/dev/null 2>&1
"$T" setup "$M" --srs "$TMP/listing.srs" >/dev/null
"$T" srs gen --k 12 --seed 7002 -o "$TMP/delivery.srs" >/dev/null 2>&1
"$T" prompt setup-delivery "$M/delivery" --model "$M" --srs "$TMP/delivery.srs" >/dev/null
"$T" evm gen-verifier "$M" >/dev/null 2>&1
"$T" evm gen-verifier "$M/delivery" >/dev/null 2>&1
echo "built $M (keys from INSECURE development seeds: local chains only)"
