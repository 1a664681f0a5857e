# The two commands of the README, plus helpers. Both reuse .venv.
.PHONY: demo test setup

setup:
	bash tools/setup_venv.sh

demo: setup
	.venv/bin/python tools/demo.py $(ARGS)

test: setup
	.venv/bin/python -m pytest tests -q $(ARGS)
