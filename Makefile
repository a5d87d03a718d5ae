# Two commands (SPEC §5): `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
WORKERS ?= 2
FLASK  := $(BIN)/flask --app app
MO     := translations/zh/LC_MESSAGES/messages.mo
BROKER_VENV ?= .venv-broker

.PHONY: run test lint fuzz mutation bench install db translations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# the embedded MQTT broker of `make run`, in its own venv (see requirements-broker.txt)
$(BROKER_VENV)/.installed: requirements-broker.txt
	$(PYTHON) -m venv $(BROKER_VENV)
	$(BROKER_VENV)/bin/pip install --quiet -r requirements-broker.txt
	touch $@

$(MO): translations/zh/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations -l zh

translations: $(MO)

# migrate, sync the roles declared in code, seed the demo university (idempotent)
db: install translations
	$(FLASK) db upgrade
	$(FLASK) sync-roles
	$(FLASK) seed-demo

# the web app, the IoT bridge, the demo terminals, and an embedded broker when MQTT_URL is unset
run: db $(if $(MQTT_URL),,$(BROKER_VENV)/.installed)
	BIN=$(BIN) BROKER_BIN=$(BROKER_VENV)/bin PORT=$(PORT) WORKERS=$(WORKERS) deploy/run-demo.sh

test: install translations
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# the fuzzers of `make test`, run long: FUZZ_EXAMPLES examples per API operation, account and mode (and three
# times as many per screen); `make test` runs them with 4
fuzz: install translations
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),100) $(BIN)/python -m pytest -q tests/test_api_fuzz.py tests/test_screen_fuzz.py $(PYTEST_ARGS)

# mutation testing of the rule modules against their own tests (tools/mutation.py; settings in setup.cfg
# [mutmut]); not in CI. MODULES="pricing booking" for some, JOBS for the parallel mutants
mutation: install translations
	$(BIN)/python tools/mutation.py --jobs $(or $(JOBS),2) $(MODULES)

bench: install translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BROKER_VENV) instance/platform.db $(MO)
