# medrepro — two commands: `make test` and `make book`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP_FLAGS ?=
export OMP_NUM_THREADS ?= 1
# idle OpenMP threads sleep: two notebooks side by side (pytest -n 2) do not spin against each other
export OMP_WAIT_POLICY ?= PASSIVE
export MPLBACKEND ?= Agg
export PYDEVD_DISABLE_FILE_VALIDATION = 1

.PHONY: test book bench venv strip toc clean lock browser-test

$(BIN)/medrepro: requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/pip install --quiet $(PIP_FLAGS) -r requirements.txt -c constraints.txt
	touch $(BIN)/medrepro

venv: $(BIN)/medrepro

## The test suite: unit tests, repository checks, every notebook in smoke mode and on its fixture.
## --dist worksteal: a worker that runs out of tests takes queued ones from the other. With the default
## (load), the long notebook tests collected last stayed queued on one worker while the other sat idle
## (measured: durations summing to 1,904 worker-seconds took 1,834 s of wall time on two workers).
test: venv
	$(BIN)/python -m pytest -n 2 --dist worksteal tests

## Main job: execute each notebook once in smoke mode (reusing fresh copies from `make test`),
## write the records, generate the dashboard, build the book into _build/html (strict).
book: venv
	$(BIN)/medrepro book

## Smoke wall time and peak memory per notebook, from the records.
bench: venv
	$(BIN)/medrepro bench

## Browser test of the built book (headless Chromium); `make book` first.
browser-test: venv
	$(BIN)/python -m pytest tests/browser -p no:xdist -q

## Strip notebook outputs before committing.
strip: venv
	$(BIN)/python tools/strip_notebooks.py notebooks

toc: venv
	$(BIN)/medrepro toc

## Regenerate constraints.txt from the current venv (on purpose, then commit it).
lock: venv
	{ echo '# Exact versions installed by `make` and CI (regenerate on purpose with `make lock`, then commit).'; \
	  echo '# Colab and pip users who install the package directly get the lower bounds of pyproject.toml instead.'; \
	  $(BIN)/pip freeze --exclude-editable 2>/dev/null | grep -v '^medrepro' | sed 's/^torch==\([0-9.]*\)+.*/torch==\1/' \
	  | sed -E 's|^([A-Za-z0-9_.-]+) @ file://.*/[A-Za-z0-9_.]+-([0-9][A-Za-z0-9_.]*)-[^/]*\.whl.*$$|\1==\2|'; \
	} > constraints.txt

clean:
	rm -rf _build results/smoke
