# BackUp developer loop. Every target creates .venv if it is missing.
# `make demo` and `make test` are the two commands of the README; CI runs `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
DEMO_DATA ?= demo-data
DEMO_PORT ?= 8080

.PHONY: demo test lint bench eval messages chromium go-mod deploy-tools clean-demo help system-deps interop interop-deps
INTEROP := tests/interop
INTEROP_STAMP := $(INTEROP)/node_modules/.installed

help:
	@echo "make demo   - install and start the demo federation (observatory + two nodes, synthetic data)"
	@echo "make test   - install test needs (Debian's chromium included) and run the whole suite"
	@echo "make lint   - ruff and mypy"
	@echo "make interop - js-libp2p (npm) against our libp2p host, both ways (part of make test)"
	@echo "make bench  - measure the figures in BENCHMARKS.md"
	@echo "make eval   - score suggested codings on the labelled evaluation set (BENCHMARKS.md)"
	@echo "make messages - extract translatable strings and update the node's and the observatory's catalogues"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# py-libp2p pulls in fastecdsa, which compiles against GMP: gcc and libgmp-dev at install
# time, libgmp10 at run time.
system-deps:
	@if ! dpkg -s libgmp-dev >/dev/null 2>&1 || ! command -v gcc >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc libgmp-dev; \
	fi

# Two distributions from this checkout: ./verifier (crypto/ and the offline evidence
# verifier, which a court installs alone) and the node and observatory, which depend on it.
# The node's own is removed first: before the verifier had its own distribution, the
# node's installed the backup-evidence command, and replacing it would remove the command
# again after the verifier's install put it back.
$(RUNTIME_STAMP): $(BIN)/python pyproject.toml verifier/pyproject.toml constraints.txt
	$(MAKE) system-deps
	$(BIN)/pip uninstall --disable-pip-version-check -q -y backup-crsv 2>/dev/null || true
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e ./verifier -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e ./verifier \
		-e '.[test,dev]'
	touch $@

# The demo federation: an observatory and two nodes (ports 8090, 8080, 8081; expert apps
# 8280, 8281; see demo/).
demo: $(RUNTIME_STAMP)
	$(BIN)/python -m demo --data $(DEMO_DATA)

clean-demo:
	rm -rf $(DEMO_DATA)

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi

# Go's reference checkpoint and proof code (golang.org/x/mod/sumdb/note and tlog, from
# Debian's golang-golang-x-mod-dev) for tests/integration/test_evidence_go_interop.py:
# a court bundle's checkpoint and inclusion proofs are checked by code we did not write.
go-mod:
	@if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq golang-go golang-golang-x-mod-dev; \
	fi

# The tools that check the deploy kit (tests/deploy/): Debian's nginx, Tor and Caddy, and
# systemd-analyze. Their services are never started here: while they install, a
# policy-rc.d (the Debian convention) refuses every service start, and it is removed after
# unless one was already there. Tor only ever runs as `tor --verify-config`.
deploy-tools:
	@if [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/sbin/tor ] || [ ! -x /usr/bin/caddy ] || \
	    ! command -v systemd-analyze >/dev/null; then \
		made=; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null && \
			$(SUDO) chmod 755 /usr/sbin/policy-rc.d && made=1; \
		fi; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx tor caddy systemd; \
		rc=$$?; if [ -n "$$made" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; exit $$rc; \
	fi

# js-libp2p for the interop test, from the committed lockfile (tests/interop/package-lock.json).
# Without npm the interop tests are skipped, saying so; `make interop` itself needs it.
$(INTEROP_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund
	touch $@

interop-deps:
	@if command -v npm >/dev/null; then $(MAKE) $(INTEROP_STAMP); \
	else echo "npm not found: the js-libp2p interop tests will be skipped"; fi

interop: $(DEV_STAMP) $(INTEROP_STAMP)
	$(BIN)/pytest -q -m interop $(INTEROP)

# Two worker processes (pytest-xdist), each taking whole modules (their fixtures are set up
# once): the suite mostly waits on real servers, nodes and browsers, so two cores run it in
# about two thirds of the time of one worker. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: $(DEV_STAMP) chromium go-mod deploy-tools interop-deps
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=25

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python -m bench.run

# Suggested codings (issue 17) against node/analysis/data/evalset.jsonl: figures only, no timing,
# so no wait for a quiet machine.
eval: $(DEV_STAMP)
	$(BIN)/python -m bench.run --only eval --max-wait 0

messages: $(DEV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output \
		--project BackUp -o node/locales/messages.pot .
	$(BIN)/pybabel update -i node/locales/messages.pot -d node/locales --no-fuzzy-matching
	$(BIN)/pybabel extract -F observatory/babel.cfg -k N_ -k _ --no-location --sort-output \
		--project "BackUp observatory" --version 0.1.0 \
		--copyright-holder "BackUp contributors" -o observatory/locales/messages.pot .
	$(BIN)/pybabel update -i observatory/locales/messages.pot -d observatory/locales \
		--no-fuzzy-matching -w 100
