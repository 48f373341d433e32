# skel's developer commands. The README's two commands are `make demo` and `make test`;
# `make help` lists every target. Both create .venv on first use and reuse it afterwards:
# stamp files inside .venv record what is installed, and are remade only when the
# requirements, a pyproject.toml or the kernels' sources change.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_CONFIG ?= configs/demo/stgcnpp_synthetic_j.py

KERNEL_SOURCES := $(shell find packages/skel-kernels -type f -not -path '*/build/*' \
	\( -name '*.py' -o -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \
	   -o -name 'CMakeLists.txt' -o -name 'pyproject.toml' \))
PACKAGE_METADATA := $(wildcard packages/*/pyproject.toml) apps/pyproject.toml

.DEFAULT_GOAL := help
.PHONY: help demo test install lint ctest

help: ## List the targets
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: install ## Command 1: set up, train a small ST-GCN++ on synthetic data, print test accuracy
	$(VENV)/bin/skel-train $(DEMO_CONFIG)

test: install ## Command 2: set up and run the whole test suite
	$(PY) -m pytest

install: $(VENV)/.skel-installed ## Create .venv and install every skel package into it

lint: install ## ruff over the whole tree
	$(VENV)/bin/ruff check .

ctest: install ## Build the kernels' C++ with the root CMakeLists.txt and run the C++ tests
	cmake -S . -B build/cmake-root -G Ninja -DPython_EXECUTABLE=$(abspath $(PY))
	cmake --build build/cmake-root -j2
	ctest --test-dir build/cmake-root --output-on-failure

$(VENV)/.skel-tools: requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements/dev.txt
	touch $@

# skel-kernels is a compiled package: installed (not editable) and rebuilt when its sources
# change; its scikit-build-core build directory is kept, so rebuilds are incremental.
$(VENV)/.skel-installed: $(VENV)/.skel-tools $(KERNEL_SOURCES) $(PACKAGE_METADATA)
	$(PIP) install --no-build-isolation packages/skel-kernels
	$(PIP) install --no-build-isolation -e packages/skel-core -e packages/skel-data \
		-e packages/skel-models -e apps
	touch $@
