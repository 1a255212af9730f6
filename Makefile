# videotermin — the commands a newcomer needs. Everything installs itself on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := videotermin.settings

.PHONY: run test test-js test-sqlite test-postgres lint bench messages system-packages node-packages collectstatic clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# Debian packages: the browsers (Chromium; Firefox ESR with Node and npm for its driver, Xvfb for
# a screen to share), coturn (TURN), Janus (the test call's echotest), iproute2 with nftables
# (shaped test links), haproxy and redis-server (the failover test's cluster) for the tests and
# bench; gettext for the catalogues.
system-packages:
	@missing=""; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v chromium >/dev/null; then missing="$$missing chromium"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v firefox-esr >/dev/null; then missing="$$missing firefox-esr"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v xvfb-run >/dev/null; then missing="$$missing xvfb"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v node >/dev/null; then missing="$$missing nodejs"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v npm >/dev/null; then missing="$$missing npm"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v turnserver >/dev/null; then missing="$$missing coturn"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v janus >/dev/null; then missing="$$missing janus"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v nft >/dev/null; then missing="$$missing nftables"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v tc >/dev/null; then missing="$$missing iproute2"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v haproxy >/dev/null; then missing="$$missing haproxy"; fi; \
	if [ -n "$(WITH_BROWSER)" ] && ! command -v redis-server >/dev/null; then missing="$$missing redis-server"; fi; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The Node packages of the browser tests (package-lock.json) in ./node_modules: puppeteer-core
# drives Debian's firefox-esr and downloads no browser of its own.
node_modules/.installed: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-packages: node_modules/.installed

messages: $(STAMP) system-packages
	cd src/videotermin && ../../$(BIN)/django-admin compilemessages --ignore=.venv -v 0

# Re-extract the catalogues after changing user-visible strings (xgettext/msgmerge come with gettext).
makemessages: $(STAMP) system-packages
	cd src/videotermin && ../../$(BIN)/django-admin makemessages -l de -l en --no-obsolete -v 0
	cd src/videotermin && ../../$(BIN)/django-admin makemessages -d djangojs -l de -l en --no-obsolete -v 0
	$(BIN)/python -m videotermin.lib.catalogues

collectstatic: $(STAMP)
	$(BIN)/python manage.py collectstatic --noinput -v 0

run: $(STAMP) messages collectstatic
	$(BIN)/python manage.py migrate -v 0
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py schedule
	@# The background worker (deletion, reminders) runs beside the server and stops with it.
	$(BIN)/python manage.py db_worker --no-reload -v 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/uvicorn videotermin.asgi:application --host 127.0.0.1 --port $(PORT) --no-access-log --no-proxy-headers --lifespan off --ws-per-message-deflate false

test: $(STAMP) messages
	$(MAKE) -s system-packages WITH_BROWSER=1
	$(MAKE) -s node-packages
	$(MAKE) -s test-js
	$(MAKE) -s test-sqlite
	$(MAKE) -s test-postgres

# The browser modules' DOM-free logic (the quality step-down) under Node's own test runner.
test-js:
	@command -v node >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null)
	node --test tests/js/

# The tests serve the static sources, never a stale collectstatic copy.
test-sqlite: $(STAMP)
	VIDEOTERMIN_STATIC_FROM_SOURCE=1 $(BIN)/pytest

# The tests of the database's work again, against the PostgreSQL on 127.0.0.1:5432
# (TEST_POSTGRES_URL overrides): locks, constraints, transactions. The browser tests prove the
# media between browsers, which no database changes; they ran once above.
test-postgres: $(STAMP)
	VIDEOTERMIN_STATIC_FROM_SOURCE=1 \
	DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/videotermin} $(BIN)/pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

bench: $(STAMP) messages collectstatic
	$(MAKE) -s system-packages WITH_BROWSER=1
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var staticfiles node_modules
