# The two commands of README.md: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | cksum | cut -d' ' -f1)
DEMO := TANFANG_DEMO=1
HOST ?= 127.0.0.1
PORT ?= 8000
# Workbox (the service worker of the phone pages) from npm, pinned in package.json
# and package-lock.json, copied into the static files: no CDN at run time.
WORKBOX_VERSION := $(shell sed -n 's/.*"workbox-core": "\([0-9.]*\)".*/\1/p' package.json)
WORKBOX := tanfang/static/vendor/workbox-$(WORKBOX_VERSION)
WORKBOX_MODULES := core routing strategies expiration

.PHONY: run test lint pytest bench lock clean

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/base.txt -r requirements/dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The browser builds of the Workbox modules the service worker imports
# (tanfang/templates/visits/sw.js), with their source maps and licence.
$(WORKBOX)/workbox-core.prod.js: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf tanfang/static/vendor/workbox-*
	mkdir -p $(WORKBOX)
	for m in $(WORKBOX_MODULES); do cp node_modules/workbox-$$m/build/workbox-$$m.prod.js node_modules/workbox-$$m/build/workbox-$$m.prod.js.map $(WORKBOX)/; done
	cp node_modules/workbox-core/LICENSE $(WORKBOX)/LICENSE.txt

run: $(STAMP) $(WORKBOX)/workbox-core.prod.js
	$(DEMO) $(BIN)/python manage.py migrate --noinput
	$(DEMO) $(BIN)/python manage.py seed_demo
	$(DEMO) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "打开 http://$(HOST):$(PORT)/ （Ctrl-C 停止）"
	@# The worker runs background tasks (Excel imports) beside the web server; Ctrl-C stops both.
	$(DEMO) $(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	$(DEMO) $(BIN)/gunicorn tanfang.wsgi --bind $(HOST):$(PORT) --workers 3 --access-logfile -

test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy tanfang
	$(BIN)/lint-imports --no-logo

# PYTEST_ARGS: more options, e.g. `make pytest PYTEST_ARGS=--database-only` (CI's PostgreSQL pass).
pytest: $(STAMP) $(WORKBOX)/workbox-core.prod.js
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# Regenerate the pinned, hashed lock files after editing requirements/*.in.
lock: $(STAMP)
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -o base.txt base.in
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -o dev.txt dev.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
