.PHONY: setup demo test test-quick lint format bench

setup:
	scripts/setup.sh

demo: setup
	scripts/demo.sh

test:
	scripts/test.sh

test-quick:
	scripts/test.sh -m "not integration"

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .
