# hotline: the two commands a newcomer needs are `make demo` and `make test`.
# Everything else here is a step they run for you.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASYNCAPI_VALIDATOR := tools/asyncapi-validate
# npm ci writes this file last; a newer package-lock.json reinstalls.
ASYNCAPI_VALIDATOR_INSTALLED := $(ASYNCAPI_VALIDATOR)/node_modules/.package-lock.json
KAFKA := deploy/kafka/kafka.sh

.PHONY: system-deps help install demo test test-fast test-unit test-reliability test-cluster test-replay-speed soak bench kafka-fetch kafka-up kafka-down kafka-cluster-up kafka-cluster-down topics clean

help:
	@echo "make demo        run the processor on a bundled sample, start to finish"
	@echo "make test        everything CI runs: make test-fast, then make test-reliability (about 50 minutes)"
	@echo "make test-fast   unit + integration + e2e tests against a throwaway local Kafka (about 9 minutes)"
	@echo "make test-reliability  crashes, broker restart, cluster failover, two workers, poisoned input, rebuild, privacy, partitions (about 41 minutes)"
	@echo "make test-cluster      a broker of a three-node cluster killed under two workers, alone (about 10 minutes)"
	@echo "make test-replay-speed a simulated week at full speed and at 100x: identical topics (about 2 hours)"
	@echo "make soak        one million simulated events through one worker, RSS sampled every 10 s (HOTLINE_SOAK_EVENTS=N for a trial)"
	@echo "make bench       throughput, latency, scale-out and memory against raw Kafka baselines (docs/BENCHMARKS.md)"
	@echo "make kafka-up    start the development broker on 127.0.0.1:9092 and create the topics"
	@echo "make kafka-down  stop the development broker"
	@echo "make kafka-cluster-up    start a three-node development cluster on 127.0.0.1:9192,9194,9196 and create the topics"
	@echo "make kafka-cluster-down  stop it"

system-deps:
	@scripts/system-deps.sh

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The AsyncAPI parser checks docs/asyncapi.yaml in the unit tests; without npm they skip it.
$(ASYNCAPI_VALIDATOR_INSTALLED): $(ASYNCAPI_VALIDATOR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing the AsyncAPI parser into $(ASYNCAPI_VALIDATOR)"; \
		npm ci --prefix $(ASYNCAPI_VALIDATOR) --no-audit --no-fund --loglevel=error >/dev/null; \
	else \
		echo "npm not found: the AsyncAPI document is not checked by its parser"; \
	fi

install: $(INSTALLED) $(ASYNCAPI_VALIDATOR_INSTALLED)

kafka-fetch:
	@$(KAFKA) fetch

kafka-up: system-deps install kafka-fetch
	@$(KAFKA) up
	@$(BIN)/hotline topics create

kafka-down:
	@$(KAFKA) down

CLUSTER_BROKERS := 127.0.0.1:9192,127.0.0.1:9194,127.0.0.1:9196

kafka-cluster-up: system-deps install kafka-fetch
	@KAFKA_CLUSTER_PORTS=9192,9194,9196 $(KAFKA) cluster-up
	@HOTLINE_BROKER=$(CLUSTER_BROKERS) $(BIN)/hotline topics create

kafka-cluster-down:
	@KAFKA_CLUSTER_PORTS=9192,9194,9196 $(KAFKA) cluster-down

demo: system-deps install kafka-fetch
	@scripts/demo.sh

test: test-fast test-reliability

test-fast: system-deps install kafka-fetch
	@scripts/with-test-broker.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

# Each module starts brokers of its own, one at a time; the test broker is there for the
# shared fixtures (HOTLINE_BROKER), as in `make test`.
test-reliability: system-deps install kafka-fetch
	@HOTLINE_RELIABILITY=1 scripts/with-test-broker.sh $(BIN)/python -m pytest tests/reliability -s $(PYTEST_ARGS)

# The failover scenario of test-reliability alone: it starts a three-node cluster of its own.
test-cluster: system-deps install kafka-fetch
	@HOTLINE_RELIABILITY=1 $(BIN)/python -m pytest tests/reliability/test_cluster_failover.py -s $(PYTEST_ARGS)

# The long form of tests/e2e/test_replay_speed.py: a simulated week at 100x (make test runs one day at 1000x).
test-replay-speed: system-deps install kafka-fetch
	@HOTLINE_REPLAY_DAYS=7 HOTLINE_REPLAY_SPEEDUP=100 scripts/with-test-broker.sh $(BIN)/python -m pytest tests/e2e/test_replay_speed.py -s $(PYTEST_ARGS)

soak: system-deps install kafka-fetch
	@HOTLINE_RELIABILITY=1 HOTLINE_SOAK=1 scripts/with-test-broker.sh $(BIN)/python -m pytest tests/reliability/test_soak.py -s $(PYTEST_ARGS)

bench: system-deps install kafka-fetch
	@$(BIN)/hotline bench $(BENCH_ARGS)

test-unit: install
	@$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(ASYNCAPI_VALIDATOR)/node_modules
