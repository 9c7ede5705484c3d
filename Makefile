# Two commands for users: `make demo` and `make test`. Both build .venv on first use.
.PHONY: demo test test-quick lint venv clean

venv:
	@bash scripts/bootstrap-venv.sh

demo: venv
	.venv/bin/scancci demo

test: venv
	bash scripts/run-tests.sh

# The quick subset for development (no child processes, DDP, exports, browser or demo).
test-quick: venv
	bash scripts/run-tests.sh -m "not slow and not browser"

lint: venv
	.venv/bin/ruff check .
	.venv/bin/python -m mypy

clean:
	rm -rf .venv runs build dist .pytest_cache .ruff_cache
