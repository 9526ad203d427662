# Two commands for a newcomer on Debian: `make run` and `make test` (README.md).
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
SUDO     = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: venv for Python, chromium for browser tests, a CJK font and Pango for
# WeasyPrint's PDFs, poppler-utils to check them (pdftotext, pdffonts, pdftoppm), wrk for bench/.
APT_PACKAGES = python3-venv python3-pip chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils mupdf-tools wrk sqlite3

.PHONY: run test test-postgresql docs system-deps install fonts lint bench bench-store bench-care bench-mentors bench-certificates bench-roster serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The CJK font cut the certificate PDFs are set in (instance/fonts, ~25 s once).
fonts: $(STAMP)
	$(BIN)/flask pdf fonts

system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The app with demo data on SQLite in instance/, at http://127.0.0.1:5000
run: system-deps $(STAMP) fonts
	$(BIN)/flask demo load --keep --members 3000
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: system-deps $(STAMP) fonts
	$(BIN)/ruff check .
	$(BIN)/pytest

# The same suite on PostgreSQL (Debian's postgresql package): a throwaway cluster in a
# temporary directory, one database per test (tools/with-postgresql).
test-postgresql: system-deps $(STAMP) fonts
	@dpkg -s postgresql >/dev/null 2>&1 || $(SUDO) apt-get install -y -qq --no-install-recommends postgresql
	tools/with-postgresql $(BIN)/pytest

# The role guides' screenshots (docs/images/), taken by the browser tests at 360 px.
docs: system-deps $(STAMP) fonts
	DOCS_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/browser/test_role_guides_browser.py tests/browser/test_first_day_browser.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Production-style serving (docs/deploy.md): gunicorn, sync workers.
serve: $(STAMP) fonts
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py app:app

bench: system-deps $(STAMP)
	$(BIN)/python bench/members.py

# The points store: kill -9 test first (correctness), then the counter benchmark.
bench-store: system-deps $(STAMP)
	$(BIN)/python bench/store_fault.py
	$(BIN)/python bench/store.py

# The care to-do page (20,000 members, ~50,000 cases) and its first-load weight.
bench-care: system-deps $(STAMP)
	$(BIN)/python bench/care.py

# Mentor suggestions for one mentee over 20,000 members (~800 mentors), and the statement's plan.
bench-mentors: system-deps $(STAMP)
	$(BIN)/python bench/mentors.py

# Certificate PDFs: one render vs. a minimal WeasyPrint page in the same font, their size,
# a batch of 500 cards (time, peak memory), the counter during a burst of downloads.
bench-certificates: system-deps $(STAMP) fonts
	$(BIN)/python bench/certificates.py

# A 5,000-row roster into 20,000 members: the dry run and the import, time and peak memory.
bench-roster: system-deps $(STAMP)
	$(BIN)/python bench/roster.py

clean:
	rm -rf $(VENV) .pytest_cache
