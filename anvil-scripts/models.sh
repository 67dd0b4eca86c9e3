#!/usr/bin/env bash
# Builds the served listing models for the local stack, each compiled for listings with its
# proving keys and the delivery keys in MODEL/delivery, from INSECURE development SRS files
# made from fixed seeds:
#
#   OUT_DIR/text        the text-prompt model (prover/fixtures/text_lm: a hidden 24-character
#                       prompt, its 8-character greedy completion public) — the default kind
#   OUT_DIR/generator   the 8×8 image generator (prover/fixtures/prompt_generator)
#
# The seeds make the keys reproducible, so the verifiers in the committed demo fixtures
# (anvil-scripts/demo, made by make-demo-fixtures.sh through this script) accept proofs from
# these keys: `make up` rebuilds them in ≈ 30 s and the server's proving jobs (sell, deliver)
# work against the seeded chain.
#
#   bash anvil-scripts/models.sh OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: models.sh OUT_DIR}"
T="${CARGO_TARGET_DIR:-$ROOT/target}/debug/trustml"
FX="$ROOT/prover/fixtures"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# build NAME LISTING_SEED DELIVERY_SEED COMPILE_ARGS…
build() {
  local name=$1 lseed=$2 dseed=$3 M="$OUT/$1"
  shift 3
  if [ -f "$M/delivery/evm.json" ] && [ -f "$M/evm.json" ]; then return 0; fi
  rm -rf "$M"
  "$T" compile "$@" -o "$M" --listing >/dev/null
  local k
  k=$(sed -n 's/^  "k": \([0-9]*\),/\1/p' "$M/settings.json")
  # Development-only seeds (public, hence INSECURE): the demo's verifiers are made from them.
  "$T" srs gen --k "$k" --seed "$lseed" -o "$TMP/$name-listing.srs" >/dev/null 2>&1
  "$T" setup "$M" --srs "$TMP/$name-listing.srs" >/dev/null
  "$T" srs gen --k 12 --seed "$dseed" -o "$TMP/$name-delivery.srs" >/dev/null 2>&1
  "$T" prompt setup-delivery "$M/delivery" --model "$M" --srs "$TMP/$name-delivery.srs" >/dev/null
  "$T" evm gen-verifier "$M" >/dev/null 2>&1
  "$T" evm gen-verifier "$M/delivery" >/dev/null 2>&1
  echo "built $M (keys from INSECURE development seeds: local chains only)"
}

build text 7003 7004 "$FX/text_lm/text_lm.onnx" --calibrate "$FX/text_lm/text_lm.calibration.json" \
  --text-prompt 24 --vocab "$FX/text_lm/vocab.json" --scale 8
build generator 7001 7002 "$FX/prompt_generator/generator.onnx" \
  --calibrate "$FX/prompt_generator/generator_calibration.json"
