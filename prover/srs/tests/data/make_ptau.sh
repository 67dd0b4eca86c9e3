#!/usr/bin/env bash
# Regenerates ceremony_8.ptau: a real (tiny) powers-of-tau ceremony made with the snarkjs npm
# package, in the layout of a ceremony's final file (new → one contribution → beacon →
# `prepare phase2`, which appends the Lagrange sections 12-15). The Rust tests read the
# committed file only; they need neither snarkjs nor the network.
#
#   bash prover/srs/tests/data/make_ptau.sh [POWER]     (default 8: 2^8 powers, ~300 KB)
#
# snarkjs's `contribute` mixes 64 bytes of OS randomness into the given entropy, so a
# regenerated file differs byte for byte (and by its sha3) from the committed one; the
# beacon step is deterministic. The tests check properties (valid powers, pairing, Lagrange
# section against our FFT, provenance), not the file's hash.
set -euo pipefail
SNARKJS_VERSION=0.7.6
POWER=${1:-8}
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "snarkjs@$SNARKJS_VERSION" >/dev/null
S=node_modules/.bin/snarkjs
$S powersoftau new bn128 "$POWER" pot_0000.ptau
$S powersoftau contribute pot_0000.ptau pot_0001.ptau --name="trustml test contribution" -e="trustml fixed test entropy"
$S powersoftau beacon pot_0001.ptau pot_beacon.ptau \
    0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10 -n="trustml test beacon"
$S powersoftau prepare phase2 pot_beacon.ptau final.ptau
$S powersoftau verify final.ptau
cp final.ptau "$HERE/ceremony_$POWER.ptau"
ls -l "$HERE/ceremony_$POWER.ptau"
