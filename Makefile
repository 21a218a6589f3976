# djangoops.fleet: the two commands of the README are `make demo` and `make test`.
# Everything else is a step of those two, usable on its own.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Supported ansible-core releases (README, "Versions and why"): the default environment .venv is the
# newest (requirements.txt, Python 3.13 or 3.12); .venv-oldest is the oldest (requirements-oldest.txt,
# Python 3.11), used only by the matrix: ansible-test sanity and units and the project-venv unit tests
# run on both, lint, molecule, the lab and the benchmarks on the newest only.
# The interpreters are found as a fresh machine has them: on PATH or under pyenv (scripts/find-python.sh).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell scripts/find-python.sh 3.13 3.12)
endif
ifeq ($(origin PYTHON_OLDEST),undefined)
PYTHON_OLDEST := $(shell scripts/find-python.sh 3.11)
endif
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
VENV_OLDEST := $(CURDIR)/.venv-oldest
COLLECTION_LINK := $(CURDIR)/.cache/collections/ansible_collections/djangoops/fleet
LAB_INVENTORY := inventories/lab
export DJANGOOPS_LAB_DIR := $(CURDIR)/.lab
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR := $(if $(CI),0,1)
export PY_COLORS := $(if $(CI),0,1)

say = @printf '\n==> %s (%s UTC)\n' "$(1)" "$$(date -u +%H:%M:%S)"

# Opt-in: `make test MITOGEN=1` (or demo, converge, molecule) runs every playbook under Mitogen's
# mitogen_linear strategy (README, "Mitogen"). Mitogen checks host keys itself and ignores the lab
# inventory's StrictHostKeyChecking=no, so host key checking is off for the lab's throwaway keys.
ifeq ($(MITOGEN),1)
export ANSIBLE_STRATEGY := mitogen_linear
# Where pip puts it in .venv (`venv` installs it first): a glob, not a Python start per recipe line.
export ANSIBLE_STRATEGY_PLUGINS = $(wildcard $(VENV)/lib/python3*/site-packages)/ansible_mitogen/plugins/strategy
export ANSIBLE_HOST_KEY_CHECKING := False
endif

.PHONY: help demo test bench venv venv-oldest host images collection lab-up lab-down converge verify unit units lint sanity \
  static matrix unit-oldest units-oldest sanity-oldest molecule readmes clean

help:
	@echo "make demo   # bring up the lab and run playbooks/site.yml against it"
	@echo "make test   # unit tests, ansible-lint, ansible-test sanity and units on every supported core, molecule"
	@echo "make matrix # ansible-test sanity and units and the unit tests on the oldest supported core"
	@echo "make lab-down   # tear the lab down"
	@echo "make verify T=molecule/default/tests/test_site.py [K=expr] [M=readonly]   # lab checks on the running lab"
	@echo "make bench  # the benchmarks of benchmarks/README.md on the lab (not part of make test)"

# --clear: a .venv of another Python (3.11 before issue 24) is replaced, not mixed into.
$(BIN)/.installed: requirements.txt
	@[ -n "$(PYTHON)" ] || { echo "make: no Python 3.13 or 3.12 found for $(VENV) (ansible-core 2.21 needs 3.12 or newer):" \
	  "neither python3.13 nor python3.12 runs from PATH, and pyenv has neither. Install one" \
	  "(e.g. 'pyenv install 3.13', or your distribution's python3.13 with its venv module)," \
	  "or name it: make PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(call say,Creating $(VENV) with the pinned requirements on $(PYTHON))
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV_OLDEST)/bin/.installed: requirements-oldest.txt
	@[ -n "$(PYTHON_OLDEST)" ] || { echo "make: no Python 3.11 found for $(VENV_OLDEST), the oldest supported core" \
	  "(ansible-core 2.19): python3.11 does not run from PATH and pyenv has none. Install one" \
	  "(e.g. 'pyenv install 3.11'), or name it: make PYTHON_OLDEST=/path/to/python3.11" >&2; exit 1; }
	$(call say,Creating $(VENV_OLDEST) (the oldest supported core) on $(PYTHON_OLDEST))
	$(PYTHON_OLDEST) -m venv --clear $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/pip install --quiet --disable-pip-version-check -r requirements-oldest.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

$(BIN)/.mitogen-installed: requirements-mitogen.txt $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-mitogen.txt
	touch $@

venv: $(BIN)/.installed $(COLLECTION_LINK) $(if $(filter 1,$(MITOGEN)),$(BIN)/.mitogen-installed)

venv-oldest: $(VENV_OLDEST)/bin/.installed $(COLLECTION_LINK)

host:
	$(call say,Checking for the Docker engine, debootstrap and shellcheck)
	scripts/ensure-host.sh

images: host
	$(call say,Building the lab images (logs in /tmp/djangoops-lab-logs))
	tests/lab/build-images.sh

lab-down: venv host
	$(call say,Removing any lab left from an earlier run)
	ansible-playbook -i $(LAB_INVENTORY) tests/lab/down.yml

lab-up: venv images lab-down
	$(call say,Creating the lab)
	ansible-playbook -i $(LAB_INVENTORY) tests/lab/up.yml

# The collection as users get it: built into a tarball and installed into a clean collections path
# (its dependencies come from the pinned `ansible` bundle; Galaxy is never contacted).
collection: venv
	$(call say,Building the collection and installing it into .cache/installed)
	rm -rf .cache/dist .cache/installed
	ansible-galaxy collection build --force --output-path .cache/dist
	ANSIBLE_COLLECTIONS_PATH=.cache/installed ansible-galaxy collection install --force --no-deps --offline \
	  -p .cache/installed .cache/dist/djangoops-fleet-*.tar.gz

converge: venv
	$(call say,Running playbooks/site.yml against the lab)
	ansible-playbook -i $(LAB_INVENTORY) playbooks/site.yml

# Lab checks against the running lab (created and converged first when absent), one file, a -k
# expression or a marker at a time, optionally shuffled:
#   make verify T=molecule/default/tests/test_site.py K='http2'      make verify M=readonly SHUFFLE=7
T ?= molecule/default/tests
verify: venv host
	$(call say,Lab checks: $(T)$(if $(K), -k '$(K)')$(if $(M), -m '$(M)')$(if $(SHUFFLE), shuffled by $(SHUFFLE)))
	scripts/verify.sh $(T) $(if $(K),-k '$(K)') $(if $(M),-m '$(M)') $(if $(SHUFFLE),--lab-shuffle $(SHUFFLE))

demo: lab-up converge
	$(call say,Checking the site from the lab client)
	scripts/demo-summary.sh

# `units` runs the unit tests in ansible-test's venv; `unit` runs, in the project's, the ones that need
# what only the project's venv has (awx.awx, jsonschema, ansible-builder; Ansible's inventory code,
# which ansible-test hides from module_utils tests) and the benchmarks' own tests. Each test runs once.
UNIT_IN_PROJECT_VENV := tests/unit/test_awx_ee.py tests/unit/plugins/module_utils/test__upstream.py
unit: venv
	$(call say,Unit tests that need the project's venv, and the benchmarks' tests)
	scripts/run-pytest.sh $(UNIT_IN_PROJECT_VENV) benchmarks/tests

units: venv
	$(call say,ansible-test units (the collection under ansible_collections/djangoops/fleet, in ansible-test's venv))
	scripts/ansible-test.sh $(VENV) units $(addprefix --exclude ,$(UNIT_IN_PROJECT_VENV))

lint: venv
	$(call say,ansible-lint (production profile))
	ansible-lint

sanity: venv host
	$(call say,ansible-test sanity)
	scripts/ansible-test.sh $(VENV) sanity

# The same checks on the oldest supported core, each in .venv-oldest (its bin first on PATH, so
# pytest, ansible-playbook and ansible-doc are the oldest core's).
unit-oldest: venv-oldest
	$(call say,Unit tests that need the project's venv, on the oldest core)
	PATH=$(VENV_OLDEST)/bin:$$PATH scripts/run-pytest.sh -p no:cacheprovider $(UNIT_IN_PROJECT_VENV) benchmarks/tests

units-oldest: venv-oldest
	$(call say,ansible-test units on the oldest core)
	scripts/ansible-test.sh $(VENV_OLDEST) units $(addprefix --exclude ,$(UNIT_IN_PROJECT_VENV))

sanity-oldest: venv-oldest host
	$(call say,ansible-test sanity on the oldest core)
	scripts/ansible-test.sh $(VENV_OLDEST) sanity

matrix: unit-oldest sanity-oldest units-oldest

# What scripts/test.sh runs beside the molecule scenario: the newest core's checks, then the matrix.
static: unit lint sanity units matrix

molecule: venv images collection
	$(call say,Molecule default scenario: create the lab, converge, verify (idempotence first), destroy)
	molecule test --scenario-name default

readmes: venv
	$(call say,Regenerating the variables part of each role README from its argument spec and defaults)
	$(BIN)/python scripts/role-readme.py --write

# The static checks (`make static`: unit lint sanity units on the newest core, then the matrix) run beside the molecule scenario, niced, in the cores it
# leaves idle; a failed one stops the scenario (scripts/test.sh).
test: venv host
	$(call say,Static checks beside the molecule scenario (scripts/test.sh))
	scripts/test.sh
	$(call say,All tests passed)

clean: lab-down
	rm -rf .cache

# Benchmarks (benchmarks/README.md): their own pinned extras, then benchmarks/bench.py on the lab.
$(BIN)/.bench-installed: benchmarks/requirements.txt requirements-mitogen.txt $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	touch $@

bench: venv $(BIN)/.bench-installed
	$(call say,Benchmarks on the lab: benchmarks/RESULTS.md, logs in /tmp/djangoops-bench-logs)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
