# Vigía's two entry points: `make demo` and `make test`. Both do every set-up step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install system-deps demo test lint broker-start broker-stop bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	scripts/install-system-deps.sh

demo: install
	$(BIN)/vigia demo

# The whole suite against a real broker; the local broker is stopped at the end
# whatever the outcome (a broker that cannot start fails here, never skips).
test: install system-deps
	$(BIN)/vigia broker start
	status=0; $(BIN)/ruff check . && $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/vigia broker stop; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

broker-start: install
	$(BIN)/vigia broker start

broker-stop: install
	$(BIN)/vigia broker stop

bench: install
	$(BIN)/vigia broker start
	$(BIN)/python -m bench

clean:
	-$(BIN)/vigia broker stop
	rm -rf var $(VENV)
