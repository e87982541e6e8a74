# Two commands: `make run` (serve the app locally) and `make test` (the whole suite).
# `make run` and `make serve` start the web server and the delivery worker (`outbox work`)
# together; Ctrl-C stops both (courses/worker/together.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TOGETHER := $(BIN)/python -m courses.worker.together
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test serve bench translations lint migration clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Compile every feature's English catalogue (.po → .mo); the .mo files are not committed.
translations: $(VENV)/.runtime
	@for dir in courses/*/translations; do \
		[ -e $$dir/en/LC_MESSAGES/messages.po ] || continue; \
		$(BIN)/pybabel -q compile --use-fuzzy -d $$dir || exit 1; \
	done

# Links in e-mails and QR codes point at this server unless PUBLIC_BASE_URL says otherwise.
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(FLASK) certificates keys create --if-missing
	$(FLASK) courses load courses/catalog/*.toml
	$(FLASK) courses demo
	$(TOGETHER) -- $(FLASK) run --host $(HOST) --port $(PORT) -- $(FLASK) outbox work

# The whole suite on SQLite, then again on PostgreSQL when one is reachable (TEST_DATABASE_URL,
# else the CI default below); the PostgreSQL pass is skipped with the reason when none answers.
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# The browser tests' accessibility and HTML checkers (axe-core, vnu-jar) come from npm. Without
# npm (or without a registry) those checks are skipped with a stated reason; nothing fails here.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch $@ \
		|| echo "npm ci failed: the browser accessibility and HTML checks will be skipped"; \
	else \
		echo "npm not found: the browser accessibility and HTML checks will be skipped"; \
	fi

test: $(VENV)/.dev translations node_modules/.installed
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@url="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}"; \
	if reason=$$($(BIN)/python -m courses.ops.probe "$$url" 2>&1); then \
		echo "== PostgreSQL run ($$url)"; \
		TEST_DATABASE_URL="$$url" $(BIN)/python -m pytest -m "not browser"; \
	else \
		echo "skipped PostgreSQL run: $$reason"; \
	fi

# Production serving: migrations, then gunicorn (gunicorn.conf.py) on 127.0.0.1:8000 or PORT,
# with the delivery worker beside it.
serve: $(VENV)/.runtime translations
	@if [ -z "$$SECRET_KEY" ]; then \
		echo "make serve needs SECRET_KEY (at least 16 random characters), for example:" >&2; \
		echo "  export SECRET_KEY=\$$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" >&2; \
		exit 1; \
	fi
	COURSES_CONFIG=production $(FLASK) db upgrade
	COURSES_CONFIG=production $(TOGETHER) -- $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app \
		-- $(FLASK) outbox work

# Benchmark, not a test: the app against a bare Flask baseline in the same run (docs/benchmarks.md).
# Uses wrk when installed (apt-get install -y wrk); BENCH_DATABASE_URL adds a PostgreSQL pass.
bench: $(VENV)/.dev translations
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Regenerate the initial migration from the models (only while nothing is deployed).
migration: $(VENV)/.dev
	rm -f migrations/versions/*.py
	rm -f instance/migration-scratch.sqlite3
	DATABASE_URL=sqlite:///$(CURDIR)/instance/migration-scratch.sqlite3 $(FLASK) db upgrade
	DATABASE_URL=sqlite:///$(CURDIR)/instance/migration-scratch.sqlite3 $(FLASK) db migrate -m "initial schema" --rev-id 0001
	rm -f instance/migration-scratch.sqlite3

# Refresh the committed phone-size screenshots (docs/screenshots) from the browser tests.
screenshots: $(VENV)/.dev translations
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser

clean:
	rm -rf $(VENV) .pytest_cache
