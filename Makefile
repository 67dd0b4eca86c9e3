# The two commands a newcomer needs:
#   make demo   – compile, set up, prove and verify a trained digits CNN
#   make test   – every test of the project (Rust, then Solidity when present)

.PHONY: demo test tools

demo:
	bash prover/scripts/demo.sh

# Ethereum tools (anvil, forge, cast, solcjs) come from npm, pinned in package.json.
tools:
	@if [ -f package.json ] && [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi

test: tools
	cargo test --workspace
	@if [ -f contracts/foundry.toml ]; then cd contracts && ../node_modules/.bin/forge test; fi
