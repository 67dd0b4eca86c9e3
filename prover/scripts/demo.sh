#!/usr/bin/env bash
# A whole run of the product on a committed, trained model: compile an ONNX CNN for 8×8
# digits, make an INSECURE development SRS, generate keys, prove one inference, verify it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/demo}
FIX=prover/fixtures
cargo build --release -p trustml
T=target/release/trustml
rm -rf "$OUT" && mkdir -p "$OUT"
$T compile $FIX/digits_cnn.onnx --calibrate $FIX/digits_calibration.json -o "$OUT/cnn"
K=$(sed -n 's/^  "k": \([0-9]*\),/\1/p' "$OUT/cnn/settings.json")
$T srs gen --k "$K" -o "$OUT/dev-k$K.srs"
$T setup "$OUT/cnn" --srs "$OUT/dev-k$K.srs"
$T inspect "$OUT/cnn"
$T prove "$OUT/cnn" $FIX/digits_cnn.input.json
$T verify "$OUT/cnn" "$OUT/cnn/proof.json"
