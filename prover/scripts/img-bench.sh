#!/usr/bin/env bash
# zk-img figures: for each edit, key generation, proving and verification time, proof size,
# peak RSS (key generation and proving), k and columns, and the gas of one on-chain
# verification (`verifyProof` through the adapter, on a local Anvil).
#
# Usage: prover/scripts/img-bench.sh [OUT_DIR] [EDIT…]
#   SIZE=320x240 (the input; default), EDITS default: every edit. The default circuits have
#   one Poseidon chip, so their verifiers deploy on chain (the gas column); WIDE=1 proves
#   with `img setup --wide` instead (many chips, fewer rows: faster, verified natively, no
#   gas). HD=1: 1280×720 inputs, wide, crop and resize to SD (640×480); an HD image takes
#   several band proofs (the "proofs" column), each within 8 GiB. NO_GAS=1 skips the chain.
#   E.g. HD=1 NO_GAS=1 img-bench.sh OUT crop:320,120,640,480 rgb-to-ycbcr blur
# Needs `npm ci` at the repo root for the gas column; TRUSTML=path picks the binary (default
# target/release, built if missing). Insecure development SRSs: figures only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d)}"; shift || true
SIZE="${SIZE:-320x240}"
[ -n "${HD:-}" ] && { SIZE=1280x720; WIDE=1; }
WIDE_FLAG=(); [ -n "${WIDE:-}" ] && WIDE_FLAG=(--wide)
W0="${SIZE%x*}"; H0="${SIZE#*x}"
if [ -n "${HD:-}" ]; then CROP="crop:320,120,640,480 resize:640x480"
else CROP="crop:0,0,$((W0 / 2)),$((H0 / 2)) resize:$((W0 / 2))x$((H0 / 2))"; fi
EDITS=("${@:-$CROP contrast brightness white-balance grayscale rgb-to-ycbcr ycbcr-to-rgb blur sharpen}")
read -r -a EDITS <<<"${EDITS[*]}"
TRUSTML="${TRUSTML:-$ROOT/target/release/trustml}"
[ -x "$TRUSTML" ] || (cd "$ROOT" && cargo build --release -p trustml-cli)
mkdir -p "$OUT"; cd "$OUT"
LOG="$OUT/bench.log"
t() { /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >>"$LOG" 2>&1; read -r s kb <"$OUT/time.txt"; echo "$s $((kb / 1024))"; }

# A deterministic photo-like test image (gradients and noise), written without Pillow.
photo() {
  python3 - "$1" "$2" "$3" <<'PY'
import random, struct, sys, zlib
w, h, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(7)
rows = bytearray()
for y in range(h):
    rows.append(0)
    for x in range(w):
        n = random.randint(-12, 12)
        rows += bytes((max(0, min(255, v + n)) for v in (x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h) + 64)))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
open(path, "wb").write(png)
PY
}

params_of() {
  case "$1" in
    contrast) echo "alpha=1.3" ;;
    brightness) echo "beta=25" ;;
    white-balance) echo "gains=1.1,1.0,0.9" ;;
    *) echo "" ;;
  esac
}

if [ -z "${NO_GAS:-}" ]; then
  export ANVIL_PORT="${ANVIL_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
  export ANVIL_STATE_DIR="$OUT/.anvil"
  URL="$("$ROOT/anvil-scripts/start.sh")"
  trap '"$ROOT/anvil-scripts/stop.sh" >/dev/null' EXIT
fi

ROWS=()
for E in "${EDITS[@]}"; do ROWS+=("$SIZE $E"); done

printf '| edit | input | proofs | k | advice columns | keygen s | keygen MiB | prove s | prove MiB | verify ms | proof B | verifyProof gas |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for row in "${ROWS[@]}"; do
  read -r S E <<<"$row"
  FLAGS=("${WIDE_FLAG[@]}")
  W="${S%x*}"; H="${S#*x}"
  [ -f "photo-$S.png" ] || photo "$W" "$H" "photo-$S.png"
  D="e-$(echo "$E-$S" | tr ':,/' '___')"
  k=$("$TRUSTML" img setup "$E" --size "$S" "${FLAGS[@]}" --srs /dev/null -o "$D" 2>&1 | grep -o 'needs k = [0-9]*' | grep -o '[0-9]*$' || true)
  [ -n "$k" ] || k=17
  [ -f "srs-$k.bin" ] || "$TRUSTML" srs gen --k "$k" --seed 9 -o "srs-$k.bin" >>"$LOG" 2>&1
  read -r ks kmb < <(t "$TRUSTML" img setup "$E" --size "$S" "${FLAGS[@]}" --srs "srs-$k.bin" -o "$D")
  cols=$(python3 -c "import json; s=json.load(open('$D/img.json'))['shape']; print(s['hash_lanes'], s['lanes'])")
  P="$(params_of "${E%%:*}")"
  read -r ps pmb < <(t "$TRUSTML" img prove "$D" "photo-$S.png" --params "$P" -o "$D/out.png" --proof "$D/proof.json")
  # Verification: the median of 3 runs (one run varies by a few ms on a busy machine).
  vms=$(for _ in 1 2 3; do
    "$TRUSTML" img verify "$D" "$D/proof.json" --output "$D/out.png" 2>/dev/null | grep -o '([0-9.]* ms)' | tr -d '(ms )'
  done | sort -g | sed -n 2p)
  # A banded proof: one proof per strip (their bytes summed).
  read -r nproofs bytes < <(python3 -c "
import json; p=json.load(open('$D/proof.json')); ps=p.get('bands', [p])
print(len(ps), sum(len(x['proof'])//2-1 for x in ps))")
  adv=$(grep -o 'advice columns [0-9]*' "$LOG" | tail -1 | grep -o '[0-9]*$' || echo "?")
  gas="–"
  if [ -z "${NO_GAS:-}" ] && [ ${#FLAGS[@]} -eq 0 ]; then
    "$TRUSTML" evm gen-verifier "$D" >>"$LOG" 2>&1
    "$TRUSTML" evm deploy "$D" --rpc-url "$URL" >>"$LOG" 2>&1
    "$TRUSTML" evm verify "$D" "$D/proof.json" --rpc-url "$URL" --send >>"$LOG" 2>&1
    gas=$(grep -o 'gasUsed [0-9]*' "$LOG" | tail -1 | cut -d' ' -f2)
  fi
  printf '| %s | %s | %s | %s | %s (%s Poseidon chips, %s lanes) | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$E $P" "$S" "$nproofs" "$k" "$adv" ${cols} "$ks" "$kmb" "$ps" "$pmb" "$vms" "$bytes" "$gas"
done
echo "zk-img (64 threads, 512 GB; the original zkml talk): HD→SD crop prove 330.7 s / 70.7 GB, resize 333.3 s, contrast 363.9 s, colour conversion 607.5 s / 91.6 GB, convolution 427.9 s / 102.2 GB"
echo "log: $LOG"
