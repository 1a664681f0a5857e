# The two commands of the README, plus helpers. Both reuse .venv.
.PHONY: demo test lint setup

setup:
	bash tools/setup_venv.sh

demo: setup
	.venv/bin/python tools/demo.py $(ARGS)

lint: setup
	.venv/bin/ruff check .

# What `make test` runs: TESTS, unless ARGS names test paths itself (a file,
# folder or node id that exists, e.g. ARGS="tests/codec -x"); options alone
# (ARGS="-m 'not slow'") run all of TESTS.
TESTS ?= tests
ARG_PATHS = $(strip $(foreach arg,$(ARGS),\
	$(wildcard $(firstword $(subst ::, ,$(arg))))))

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest $(if $(ARG_PATHS),,$(TESTS)) -q $(ARGS)
