# `make run` and `make test` create the virtualenv and install everything themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-profile soak render migrate clean prometheus-tools chromium dashboards k8s-config

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/clew up

test: $(STAMP) prometheus-tools chromium
	$(BIN)/python -m pytest -q

# The operations tests run a real Prometheus and promtool: Debian's package, installed once.
prometheus-tools:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }

# The dashboard's browser tests drive Debian's Chromium (playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# deploy/grafana/dashboards/*.json from deploy/grafana/dashboard.py (commit both).
dashboards: $(STAMP)
	$(BIN)/python deploy/grafana/dashboard.py

# deploy/k8s/configmap.yaml from gateway.yaml (or GATEWAY_YAML=path/to/yours).
k8s-config: $(STAMP)
	$(BIN)/python deploy/k8s/configmap.py $(GATEWAY_YAML)

# Gateway vs. a fixed-response upstream and bare Envoy, in one run (BENCH_SECONDS per run; installs wrk).
bench: $(STAMP)
	$(BIN)/python -m tests.bench

# Mixed load for SOAK_MINUTES (default 30) with every process's RSS sampled: a slope and flat / NOT FLAT each.
soak: $(STAMP)
	$(BIN)/python -m tests.bench.soak

# Where the CPU goes per JSON request: each sidecar and Envoy thread's CPU ms, ext_proc messages per
# request, and with PROFILE_PYSPY=1 the sidecars' hottest Python frames (BENCH_SECONDS, default 20).
bench-profile: $(STAMP)
	$(BIN)/python -m tests.bench.profile

render: $(STAMP)
	$(BIN)/clew render

migrate: $(STAMP)
	$(BIN)/clew migrate

clean:
	rm -rf $(VENV) var .pytest_cache
