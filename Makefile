# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test venv chat bench eval clean reliability

venv: $(STAMP)

# Reinstall when pyproject.toml changes (the stamp is older than it).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/husbot index examples/statens-hus
	$(VENV)/bin/husbot serve

test: $(STAMP)
	$(PY) -m pytest -q

# The long crash-safety and fuzz variants (docs/reliability.md): more SIGKILLs than the normal suite; override e.g. KILLS=500.
KILLS ?= 100
reliability: $(STAMP)
	HUSBOT_KILLS=$(KILLS) HUSBOT_REINDEX_KILLS=$$(( $(KILLS) / 2 )) HUSBOT_SERVE_KILLS=$$(( $(KILLS) / 10 )) \
		$(PY) -m pytest -q -s tests/test_crash_safety.py
	# the fuzz tests with ten times the cases and fresh random seeds (docs/reliability.md, Hostile and broken input)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q -s tests/test_fuzz_http.py tests/test_fuzz_files.py

chat: $(STAMP)
	$(VENV)/bin/husbot index examples/statens-hus
	$(VENV)/bin/husbot chat

bench: $(STAMP)
	$(VENV)/bin/husbot bench --output docs/benchmarks.md

eval: $(STAMP)
	$(VENV)/bin/husbot eval eval/qa_dev.jsonl

clean:
	rm -rf $(VENV) var
