# The commands a newcomer needs:
#   make up     – the local stack: Anvil, contracts seeded with demo listings, trustml-server
#   make down   – stop it (the chain and database are kept in .trustml-local/)
#   make demo   – prove a trained digits CNN (and on chain), then a prompt sale on Anvil
#   make test   – every test of the project: Rust, Solidity, the web app's unit tests, `make up`
#                 twice, then the web app end to end in Chromium (apt-get install chromium)

.PHONY: up down demo test tools

up: tools
	bash anvil-scripts/up.sh

down:
	bash anvil-scripts/down.sh

demo: tools
	bash prover/scripts/demo.sh

# Ethereum tools (anvil, forge, cast, solcjs) come from npm, pinned in package.json.
tools:
	@if [ -f package.json ] && [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi
	@if [ ! -d frontend/node_modules ]; then cd frontend && npm ci --no-audit --no-fund; fi

test: tools
	cargo test --workspace
	@if [ -f contracts/foundry.toml ]; then cd contracts && ../node_modules/.bin/forge test; fi
	cd frontend && npm test
	bash anvil-scripts/smoke-up.sh
	cd frontend && npm run -s e2e
