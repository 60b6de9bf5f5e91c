# sadpnet: `make test` and `make study` set up .venv from the project's own files, then run.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sadpnet-installed

.PHONY: venv browser test test-fast study demo bench clean

venv: $(STAMP)

# torch==2.14.1 and torchvision==0.29.1 come from this machine's local wheel store (see README).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,ml-potential]" 2>&1 | { grep -v "is ignored: it is neither" || true; }
	$(PY) -c "import sadpnet, torch, torchvision, finufft, spglib, ase, gemmi"
	# byte-compile the editable source once: with PYTHONDONTWRITEBYTECODE set (as on the project's machines)
	# every command would otherwise recompile the modules it imports (about 0.2 s of each command's start-up)
	$(PY) -m compileall -q src >/dev/null
	touch $(STAMP)

# The web page's end-to-end test drives Debian's chromium; install it (as root) when it is missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	      || echo "warning: chromium could not be installed: the browser test will be skipped"; \
	  else echo "note: /usr/bin/chromium is missing and this is not root: the browser test will be skipped"; fi; \
	fi

test: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider

study: $(STAMP)
	$(VENV)/bin/sadpnet study --quick -o out/study

demo: $(STAMP)
	$(VENV)/bin/sadpnet demo -o out/demo

bench: $(STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache
