# Two commands (SPEC §5): `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
WORKERS ?= 2
FLASK  := $(BIN)/flask --app app
MO     := translations/zh/LC_MESSAGES/messages.mo

.PHONY: run test bench install db translations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

$(MO): translations/zh/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations -l zh

translations: $(MO)

# migrate, sync the roles declared in code, seed the demo university (idempotent)
db: install translations
	$(FLASK) db upgrade
	$(FLASK) sync-roles
	$(FLASK) seed-demo

run: db
	@echo "Serving http://127.0.0.1:$(PORT)  (demo accounts: see README)"
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - 'app:create_app()'

test: install translations
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/platform.db $(MO)
