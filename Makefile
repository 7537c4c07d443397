# The two commands a user needs: `make run` and `make test`. Everything else is a helper.
BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc)
DEMO       ?= examples/demo/vigil.yaml

.PHONY: all deps build run run-exf test test-plain test-san stress bench fuzz clean

all: build

deps:
	@scripts/deps.sh

# Quiet builds (one line, or the errors in full); V=1 shows everything.
build: deps
	@JOBS=$(JOBS) scripts/build.sh $(BUILD) RelWithDebInfo

run: build
	@examples/demo/run.sh $(BUILD) $(DEMO)

# Document 001's indicators under the monitor, with a Redis mirror (examples/exf/).
run-exf: build
	@examples/exf/run.sh $(BUILD)

test: deps test-plain test-san

test-plain: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-san: deps
	@JOBS=$(JOBS) scripts/build.sh $(BUILD_SAN) Debug -DVIGIL_SANITIZE=ON
	@cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS)

# Slow stress tests (label stress; the failover's 50 kills and 50 pauses): minutes.
stress: build
	@cmake -S . -B $(BUILD) -DVIGIL_STRESS=ON >/dev/null
	@cd $(BUILD) && ctest --output-on-failure -L stress; rc=$$?; \
	  cmake -S $(CURDIR) -B . -DVIGIL_STRESS=OFF >/dev/null; exit $$rc

bench: build
	@scripts/deps.sh --bench
	@bench/restart-latency/run.sh $(BUILD)
	@bench/footprint/run.sh $(BUILD)
	@bench/metrics/run.sh $(BUILD)
	@bench/tsdb/run.sh $(BUILD)
	@bench/ingest/run.sh $(BUILD)
	@bench/compute/run.sh $(BUILD)
	@bench/monitor/run.sh $(BUILD)

fuzz:
	@scripts/fuzz.sh 60

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
