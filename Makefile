# jobtui — two commands for a fresh machine: `make demo` and `make test`.
# `make quick` while iterating: ruff, mypy and the tests but the slowest (tmux, snapshots, scale).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test quick lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "jobtui needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jobtui demo

# Left out of make quick, the slowest tests: real terminals under tmux, screenshots compared at
# three sizes, worker processes racing and migrations at scale, the schemathesis run against
# /openapi.json, the reliability suite (faults injected and waited out: about 4 minutes), and
# three backup tests (100k jobs round trip, SIGKILL during a backup, recovery racing workers).
SLOW := --ignore-glob='tests/dashboard/test_tmux*.py' \
	--ignore-glob='tests/dashboard/test_snapshots*.py' \
	--ignore=tests/test_scale_and_migrations.py \
	--ignore=tests/test_contract_fuzz.py \
	--ignore=tests/test_reliability.py \
	--deselect=tests/test_backups.py::test_100k_jobs_back_up_and_restore_to_an_identical_table \
	--deselect=tests/test_backups.py::test_sigkill_during_a_backup_leaves_no_partial_and_earlier_ones_intact \
	--deselect=tests/test_backups.py::test_recovery_racing_workers_loses_no_job_and_completes_none_twice

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest

quick: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest $(SLOW)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/agent.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build dist
