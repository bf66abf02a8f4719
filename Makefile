# The two commands of the README:  `make demo`  and  `make test`.
# Needs only python3 (3.11) and make: uv is bootstrapped into .tools/ when it is not on PATH.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# Trust the platform certificate store too (machines behind a TLS-inspecting proxy).
export UV_SYSTEM_CERTS ?= 1

.PHONY: demo test ui setup benchmark clean

demo: setup            ## generate the demo company and run the whole platform on DuckDB
	$(UV) run psz demo

test: setup            ## run every test
	$(UV) run pytest

ui: setup              ## open the Dagster UI
	$(UV) run psz ui

benchmark: setup       ## print ingestion figures at scale 1 and 10
	$(UV) run python benchmarks/ingestion.py

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

clean:
	rm -rf data .venv .tools
