# Quick start: `make demo` (set up + mix the bundled song on a virtual console)
#              `make test` (set up + the whole test suite)
#              `make test-stress ARGS="10 --hog"` (the suite 10 times, every core busy)
# Pass options to the demo with ARGS, e.g. make demo ARGS="--headless --seconds 10"

.PHONY: demo test test-stress setup setup-dev lint bench clean

demo: setup
	.venv/bin/ailive demo $(ARGS)

test: setup-dev
	scripts/check.sh $(ARGS)

test-stress: setup-dev
	scripts/stress-test.sh $(ARGS)

setup:
	scripts/setup.sh runtime

setup-dev:
	scripts/setup.sh dev

lint: setup-dev
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: setup-dev
	.venv/bin/python benchmarks/engine_hop.py

clean:
	rm -rf .venv ailive-out .pytest_cache .mypy_cache .ruff_cache
