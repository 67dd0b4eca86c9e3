#!/usr/bin/env bash
# Benchmark: per model, the circuit's size and the cost of setup, proving and verifying,
# with EZKL side by side when it is installed. Prints a table and the ratios.
#
#   bash prover/scripts/bench.sh [MODEL_DIR ...]
#
# A MODEL_DIR holds network.onnx and input.json (EZKL's example layout). Without
# arguments: the committed digits models, plus ../shared/fixtures/peer-onnx/{1l_relu,
# 1l_conv,1l_mlp,4l_relu_conv_fc} when that folder exists.
# EZKL (optional): set EZKL_PY to a Python with `ezkl==23.0.5` installed (default
# ~/.cache/ezkl-venv/bin/python if present) and EZKL_HELPER to its prove_once.sh
# (default ../shared/bench/ezkl/prove_once.sh). Timings are whole processes
# (/usr/bin/time), the same way for both tools. Input visibility: $VIS (default private).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VIS=${VIS:-private}
WORK=${WORK:-$ROOT/out/bench}
EZKL_PY=${EZKL_PY:-$HOME/.cache/ezkl-venv/bin/python}
EZKL_HELPER=${EZKL_HELPER:-$ROOT/../shared/bench/ezkl/prove_once.sh}
cargo build --release -q -p trustml-cli
T=$ROOT/target/release/trustml
mkdir -p "$WORK"

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for m in digits_mlp digits_cnn; do
    d=$WORK/src/$m; mkdir -p "$d"
    cp prover/fixtures/$m.onnx "$d/network.onnx"; cp prover/fixtures/$m.input.json "$d/input.json"
    models+=("$d")
  done
  PEER=$ROOT/../shared/fixtures/peer-onnx
  for m in 1l_relu 1l_conv 1l_mlp 4l_relu_conv_fc; do
    [ -d "$PEER/$m" ] && models+=("$PEER/$m")
  done
fi

have_ezkl=0
if [ -x "$EZKL_PY" ] && "$EZKL_PY" -c "import ezkl" 2>/dev/null && [ -f "$EZKL_HELPER" ]; then have_ezkl=1; fi

printf '%-18s %3s %6s %4s %4s %4s %8s %8s %8s %9s %7s %9s %9s' model k rows adv fix lkp setup_s prove_s verify_ms proof_B pk_MB rss_MiB maxerr
[ $have_ezkl = 1 ] && printf ' | %3s %8s %9s %7s %7s' ezkl_k prove_s rss_MiB t_ratio m_ratio
echo
for M in "${models[@]}"; do
  name=$(basename "$M"); W=$WORK/$name; rm -rf "$W"; mkdir -p "$W"
  $T compile "$M/network.onnx" --calibrate "$M/input.json" -o "$W/model" --input-visibility "$VIS" >"$W/compile.log" 2>&1 || { echo "$name: compile failed (see $W/compile.log)"; continue; }
  k=$(sed -n 's/^  "k": \([0-9]*\),/\1/p' "$W/model/settings.json")
  srs=$WORK/dev-k$k.srs
  [ -f "$srs" ] || $T srs gen --k "$k" -o "$srs" --seed 1 >/dev/null 2>&1
  /usr/bin/time -f "%e %M" -o "$W/setup.time" $T setup "$W/model" --srs "$srs" >/dev/null 2>&1
  /usr/bin/time -f "%e %M" -o "$W/prove.time" $T prove "$W/model" "$M/input.json" >"$W/prove.log" 2>&1
  vms=$($T verify "$W/model" "$W/model/proof.json" | sed -n 's/.*(\([0-9.]*\) ms).*/\1/p')
  ins=$($T inspect "$W/model")
  rows=$(echo "$ins" | sed -n 's/^k .*; \([0-9]*\) used).*/\1/p')
  adv=$(echo "$ins" | sed -n 's/^columns *advice \([0-9]*\) · fixed \([0-9]*\).*/\1/p')
  fix=$(echo "$ins" | sed -n 's/^columns *advice \([0-9]*\) · fixed \([0-9]*\).*/\2/p')
  lkp=$(echo "$ins" | sed -n 's/^lookups *\([0-9]*\) arg.*/\1/p')
  maxerr=$(sed -n 's/.*"max_abs_error": \([0-9.e-]*\).*/\1/p' "$W/model/settings.json")
  proof_b=$(python3 -c "import json;print((len(json.load(open('$W/model/proof.json'))['proof'])-2)//2)")
  pk_mb=$(python3 -c "import os;print(round(os.path.getsize('$W/model/pk.bin')/1e6,1))")
  read -r setup_s _ < "$W/setup.time"; read -r prove_s prove_kb < "$W/prove.time"
  rss=$((prove_kb / 1024))
  printf '%-18s %3s %6s %4s %4s %4s %8s %8s %8s %9s %7s %9s %9.5f' "$name" "$k" "$rows" "$adv" "$fix" "$lkp" "$setup_s" "$prove_s" "$vms" "$proof_b" "$pk_mb" "$rss" "$maxerr"
  if [ $have_ezkl = 1 ]; then
    if out=$(WORK="$W/ezkl" PY="$EZKL_PY" bash "$EZKL_HELPER" "$M" "$VIS" 2>/dev/null); then
      ek=$(echo "$out" | sed -n 's/^k=\([0-9]*\) .*/\1/p'); read -r es ekb < "$W/ezkl/prove.time"
      printf ' | %6s %8s %9s %7.3f %7.3f' "$ek" "$es" "$((ekb / 1024))" "$(python3 -c "print($prove_s/$es)")" "$(python3 -c "print($prove_kb/$ekb)")"
    else
      printf ' | ezkl failed (see %s)' "$W/ezkl"
    fi
  fi
  echo
done
echo "times are wall seconds of whole processes on $(nproc) cores; rss = peak resident memory of the prove process"
