# Thin wrappers; each target's real work is in scripts/, playbooks/ or tests/.
#   make up     a running dev environment
#   make test   the whole suite (what CI runs)
#   make down   remove everything `make up` made
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ROOT := $(CURDIR)
export PATH := $(ROOT)/.venv/bin:$(PATH)
export PHOENIX_ROOT := $(ROOT)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg

# Every molecule scenario, in the order the suite runs them: each role's, then
# the multi-host ones in molecule/ at the top.
# The base and postgresql roles have no scenario of their own: the app role's
# converges them (the stack an app host stands on), and pgbackrest's
# converges PostgreSQL again with WAL archiving.
ROLE_SCENARIOS := roles/app roles/pgbackrest roles/haproxy
SITE_SCENARIOS := pipeline hosts
MOLECULE_STAGES := $(addprefix molecule/,$(ROLE_SCENARIOS) $(SITE_SCENARIOS))
TEST_STAGES := lint sanity unit $(MOLECULE_STAGES) vagrant
# make test runs three lanes side by side, each stage of a lane in order:
# the two parts of the pipeline's story (mostly waiting on canary windows,
# health checks and hosts that boot), each on an environment of its own, the
# first followed by vagrant; and every other stage. The machine's cores are
# busy all along, so the lanes are cut to end together. Each molecule
# scenario names its own containers and network.
BESIDE_LANES := molecule/pipeline+vagrant molecule/hosts
BESIDE_STAGES := $(subst +, ,$(BESIDE_LANES))
# molecule/hosts is molecule/pipeline's environment: its molecule.yml says
# only what differs, over the pipeline's.
MOLECULE_CONFIG_hosts := -c molecule/config.yml -c molecule/pipeline/molecule.yml
# molecule/hosts is the suite's critical path, and its story mostly waits on
# its own hosts, so it goes first in line for the CPU: its controller side at
# a higher priority (nice -5; nice says so and runs it anyway where it may
# not) and its containers at four times docker's default CPU shares. The
# other lanes take what it leaves, rather than stretch the longest one.
MOLECULE_FIRST_IN_LINE_hosts := PHOENIX_CPU_SHARES=4096 nice -n -5

# Stage names are also folder names (molecule/pipeline): phony, or make would
# call them up to date and run nothing.
.PHONY: help deps venv engine image vagrant-image vagrant up down test verify lint sanity unit collection clean $(MOLECULE_STAGES)

help:
	@echo "make up | make down | make test | make verify ENV=<env>"
	@echo "stages: make lint | make sanity | make unit | make molecule/roles/<role> | make molecule/pipeline | make molecule/hosts | make vagrant"

deps:
	@scripts/apt-install debootstrap git openssh-client ca-certificates postgresql haproxy vagrant

venv: deps
	@scripts/venv

engine: deps
	@scripts/ensure-docker

image: engine
	@images/phoenix-base/build

vagrant-image: image
	@images/phoenix-vagrant/build

# make up builds every release of the sample application into artifacts/,
# and deploys the newest through the pipeline, as any environment would.
DEV_REPO := .cache/shop
DEV_TAGS := v1.0.0 v1.1.0 v1.1.1-bad v1.2.0
DEV_RELEASE := v1.2.0

up: venv image
	ansible-playbook -i inventories/dev playbooks/local_hosts.yml
	[ -d $(DEV_REPO) ] || examples/make-app-repo $(DEV_REPO)
	for tag in $(DEV_TAGS); do ansible-playbook playbooks/build.yml -e release=$$tag -e app_repo=$(DEV_REPO); done
	ansible-playbook -i inventories/dev playbooks/site.yml
	./deploy dev $(DEV_RELEASE)
	./deploy dev $(DEV_RELEASE) -e deploy_switch=false
	@echo
	@echo "The dev environment is up, serving $(DEV_RELEASE):"
	@echo "  the app:    curl http://127.0.0.1:8080/version"
	@echo "  ship:       ./deploy dev v1.1.0"
	@echo "  roll back:  ./deploy dev rollback"
	@echo "  look:       ./deploy dev status"
	@echo "  prove it:   make verify ENV=dev"
	@echo "  remove it:  make down"

down: venv engine
	ansible-playbook -i inventories/dev playbooks/local_hosts.yml -e local_hosts_state=absent

test: venv
	@scripts/with-docker bash -c 'trap scripts/remove-test-hosts EXIT; scripts/reserve-vagrant-network && images/phoenix-base/build && scripts/suite $(filter-out $(BESIDE_STAGES),$(TEST_STAGES)) -- $(BESIDE_LANES)'

# The infrastructure tests against a whole environment: make verify ENV=production
ENV ?= dev
verify: venv
	pytest tests/infra -p no:cacheprovider --connection=ansible --hosts=ansible://all --ansible-inventory=inventories/$(ENV)

lint:
	yamllint --strict .
	ansible-lint --profile production

sanity:
	scripts/sanity

# The slowest tests are listed at the end, to see where the stage's time goes.
unit:
	pytest tests/unit tests/roles --durations=15

# The dev environment as Vagrant machines: up, checked, destroyed.
vagrant:
	scripts/vagrant-test

$(addprefix molecule/,$(ROLE_SCENARIOS)): molecule/%:
	scripts/molecule $* test

$(addprefix molecule/,$(SITE_SCENARIOS)): molecule/%:
	$(MOLECULE_FIRST_IN_LINE_$*) scripts/molecule . $(MOLECULE_CONFIG_$*) test --scenario-name $*

collection:
	mkdir -p build
	ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build .cache
