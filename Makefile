VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test test-fast test-scaleout browser benchmark loadtest screenshots

# torch first: its pinned CPU build lies on this machine's disk; afterwards nothing pulls a CUDA build.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py setup
	bin/serve

# The browser tests drive Debian's chromium; install it when missing (skipped with a message where apt can't).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"

test: install browser
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

# The inner loop: everything but the worker, browser, fine-tuning and HWU64 tests.
test-fast: install
	$(PY) -m pytest -m "not slow" -q

# The same code on PostgreSQL (DATABASE_URL) with Redis as django-q2's broker, with a real worker; the
# tests that measure learning on HWU64 ran on SQLite already and test no database behaviour.
SCALEOUT_TESTS = tests/test_worker.py tests/test_triggers.py tests/test_retrain.py tests/test_promotion.py \
	tests/test_api_classify.py tests/test_api_retries.py tests/test_review.py tests/test_datasets.py tests/test_rejections.py \
	tests/test_holdout_audits.py tests/test_two_web_processes.py
test-scaleout: install
	eval "$$(bin/scaleout-services)" && $(PY) -m pytest -q -m "not dataset" $(SCALEOUT_TESTS)

benchmark: install
	$(PY) manage.py benchmark_retrain
	$(PY) manage.py benchmark_run --labels 1000 --traffic 10000 --encoder finetune
	$(PY) manage.py benchmark_backends
	$(PY) manage.py benchmark_serving
	$(PY) manage.py benchmark_http

# 32 clients for 60 s against bin/serve while a retrain runs, its worker is killed and a version promoted.
loadtest: install
	$(PY) manage.py loadtest --clients 32 --seconds 60

screenshots: install browser
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/test_e2e.py -k screenshots -q
