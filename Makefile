# The two commands (see README):
#   make run    set up everything, migrate and seed an SQLite database, serve on http://127.0.0.1:5000
#   make test   set up everything, run the whole suite on SQLite and on PostgreSQL
# Both install what they need: Debian packages (apt-get, when missing), a virtualenv and pip packages.

SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
HOST ?= 127.0.0.1
PORT ?= 5000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# Debian packages: WeasyPrint's libraries and the CJK font for PDFs; Chromium for browser tests;
# poppler-utils to read PDFs back in tests.
APT_RUN := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-arphic-uming
APT_TEST := chromium poppler-utils

.PHONY: run test setup setup-test apt-run apt-test db seed clean-db articles screenshots

run: setup db
	@echo "临湘市农村产权流转交易平台：http://$(HOST):$(PORT)/  （Ctrl+C 停止）"
	$(PY) -m flask --app wsgi run --host $(HOST) --port $(PORT)

test: setup-test
	@set -e; \
	echo "== 测试：SQLite =="; \
	EXCHANGE_TEST_DB=sqlite $(PY) -m pytest -n auto $(PYTEST_ARGS) tests; \
	if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=5).close()" 2>/dev/null; then \
	  echo "== 测试：PostgreSQL =="; \
	  EXCHANGE_TEST_DB=postgresql EXCHANGE_TEST_PG=$(PG_URL) $(PY) -m pytest -n auto $(PYTEST_ARGS) tests; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "PostgreSQL is not reachable at $(PG_URL): in CI that is a failure." >&2; exit 1; \
	else \
	  echo "!! PostgreSQL 不可用（$(PG_URL)）：本次只在 SQLite 上运行了测试。CI 中这会失败。" >&2; \
	fi

setup: apt-run .venv/.installed
setup-test: apt-run apt-test .venv/.installed

.venv/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

apt-run:
	@$(call apt_install,$(APT_RUN))
apt-test:
	@$(call apt_install,$(APT_TEST))

define apt_install
missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  echo "安装系统软件包:$$missing"; \
  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
fi
endef

# the signing key first: the demo's history issues 鉴证书.  seed-demo --history: two years of listings driven through
# the services (about a minute); on an existing database, refresh-bidding arms a new demo bidding session.
db: .venv/.installed
	$(PY) -m flask --app wsgi db upgrade
	$(PY) -m flask --app wsgi certificates init-key --if-missing
	$(PY) -m flask --app wsgi seed-demo --if-empty --history
	$(PY) -m flask --app wsgi demo refresh-bidding

clean-db:
	rm -f instance/exchange.db

# README's 法规对照 (article → code → tests), generated from the tests' @pytest.mark.article markers
articles: .venv/.installed
	$(PY) -m tests.articles --write

# README's screenshots (static/screenshots/): the demo with history in a scratch directory, photographed in Chromium
screenshots: setup-test
	$(PY) -m tests.browser.readme_shots
