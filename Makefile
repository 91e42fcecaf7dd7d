# `make demo` and `make test` do all the set-up on a fresh machine (a virtualenv in .venv). uv installs the
# pinned set (about 1 minute from an empty cache where pip took about 3: torch's CUDA wheels are GBs).
# uv reads UV_INDEX_URL / UV_DEFAULT_INDEX, not pip.conf: where it cannot reach an index, pip installs instead.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-all lint format benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	( $(BIN)/pip install --quiet uv==0.13.9 \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]" ) \
	  || $(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# the demo's sweep folder: GatedConv rgb and mono jobs, then one table + comparison figure over both
DEMO_DIR := logs/demo/multiruns/$(shell date +%Y-%m-%d_%H-%M-%S)

demo: setup  ## offline CPU demo: GatedConv rgb vs mono (EII) on synthetic textures -> table + figure
	$(BIN)/python train.py -m experiment=demo hydra.sweep.dir=$(DEMO_DIR)
	$(BIN)/python report.py $(DEMO_DIR)

# The fast tier: config composition, one batch per method and experiment, the malformed-input battery.
# `slow` marks the subprocess sweeps, the SLURM cluster and DDP runs and the overfitting runs.
test: setup  ## the fast tier (README: Tests)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow" --durations=10

test-all: setup  ## every test, as CI runs them
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=20

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: setup
	$(BIN)/python benchmarks/data_loading.py
	$(BIN)/python benchmarks/gatedconv_training.py
	$(BIN)/python benchmarks/contextual_attention.py
	$(BIN)/python benchmarks/colorization.py --iterations-scale 0.01 --sizes 64x64 128x128
	$(BIN)/python benchmarks/deepgin.py --batches 3 --warmup 1

clean:
	rm -rf $(VENV) logs .pytest_cache
