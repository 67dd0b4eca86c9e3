#!/usr/bin/env bash
# Mutation run: for every polynomial of every gate, and every lookup argument, of the model
# and delivery circuits, build the circuits without it (TRUSTML_MUTANT, the test-only
# `mutation` feature of trustml-kit) and run the circuit tests; a constraint whose removal
# fails no test is one no test checks. Prints a table; exits 1 if some mutant survives.
# ~30 s per mutant here.
#   bash prover/scripts/mutation-run.sh [NAME…]   (NAME: "gate#i" or a lookup's name;
#                                                  default: the catalog the tests print)
set -uo pipefail
cd "$(dirname "$0")/../.."
F=(--features trustml-kit/mutation)
mapfile -t ALL < <(cargo test -q "${F[@]}" -p trustml --test free_cells mutation_catalog \
  -- --nocapture 2>/dev/null | sed -n 's/^MUTANT //p')
MUTANTS=("${@:-${ALL[@]}}")
# The circuit tests: every chip's unit tests (with their exact negative cases), the
# delivery circuit, the free-cell detector on each circuit, the listing statement.
run() {
  cargo test --no-fail-fast "${F[@]}" -p trustml-poseidon -p trustml-babyjubjub -p trustml --lib 2>&1
  cargo test --no-fail-fast "${F[@]}" -p trustml --test free_cells --test listing 2>&1
}
cargo test -q "${F[@]}" -p trustml-poseidon -p trustml-babyjubjub -p trustml --lib --no-run 2>/dev/null
cargo test -q "${F[@]}" -p trustml --test free_cells --test listing --no-run 2>/dev/null
printf '%-30s %-7s %-6s %s\n' "gate or lookup" caught failed "e.g."
survivors=0
for m in "${MUTANTS[@]}"; do
  out=$(TRUSTML_MUTANT="$m" run)
  # (The catalog test lists the polynomials, so a dropped one "fails" it: not a catch.)
  mapfile -t failed < <(grep -E '^test .* \.\.\. FAILED$' <<<"$out" | awk '{print $2}' |
    grep -v 'mutation_catalog$')
  if [ "${#failed[@]}" -gt 0 ]; then c=yes; else c=NO; survivors=$((survivors + 1)); fi
  printf '%-30s %-7s %-6s %s\n' "$m" "$c" "${#failed[@]}" "${failed[*]:0:2}"
done
echo "mutants: ${#MUTANTS[@]}, survived: $survivors"
[ "$survivors" -eq 0 ]
