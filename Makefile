# Two commands for users: `make demo` and `make test`. Both build .venv on first use.
.PHONY: demo test lint venv clean

venv:
	@bash scripts/bootstrap-venv.sh

demo: venv
	.venv/bin/scancci demo

test: venv
	bash scripts/run-tests.sh

lint: venv
	.venv/bin/ruff check .

clean:
	rm -rf .venv runs build dist .pytest_cache .ruff_cache
