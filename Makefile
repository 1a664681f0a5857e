# The two commands of the README, plus helpers. Both reuse .venv.
.PHONY: demo test lint setup

setup:
	bash tools/setup_venv.sh

demo: setup
	.venv/bin/python tools/demo.py $(ARGS)

lint: setup
	.venv/bin/ruff check .

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest tests -q $(ARGS)
