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

# Every molecule scenario, in the order the suite runs them.
MOLECULE_SCENARIOS := roles/base roles/postgresql roles/haproxy roles/app site
TEST_STAGES := lint sanity unit $(addprefix molecule/,$(MOLECULE_SCENARIOS))

.PHONY: help deps venv engine image up down test verify lint sanity unit collection clean

help:
	@echo "make up | make down | make test | make verify ENV=<env>"
	@echo "stages: make lint | make sanity | make unit | make molecule/roles/<role> | make molecule/site"

deps:
	@scripts/apt-install debootstrap git openssh-client ca-certificates postgresql haproxy

venv: deps
	@scripts/venv

engine: deps
	@scripts/ensure-docker

image: engine
	@images/phoenix-base/build

up: venv image
	ansible-playbook -i inventories/dev playbooks/local_hosts.yml
	ansible-playbook -i inventories/dev playbooks/site.yml
	@echo
	@echo "The dev environment is up:"
	@ansible -i inventories/dev all --list-hosts
	@echo "  prove it:  make verify ENV=dev"
	@echo "  remove it: make down"

down: venv engine
	ansible-playbook -i inventories/dev playbooks/local_hosts.yml -e local_hosts_state=absent

test: venv
	@scripts/with-docker bash -c 'trap scripts/remove-test-hosts EXIT; images/phoenix-base/build && scripts/suite $(TEST_STAGES)'

# The infrastructure tests against a whole environment: make verify ENV=production
ENV ?= dev
verify: venv
	pytest tests/infra -p no:cacheprovider --connection=ansible --hosts=ansible://all --ansible-inventory=inventories/$(ENV)

lint:
	yamllint --strict .
	ansible-lint --profile production

sanity:
	scripts/sanity

unit:
	pytest tests/unit tests/roles

# The multi-host scenarios live in molecule/ at the top.
molecule/site:
	scripts/molecule . test --scenario-name site

molecule/%:
	scripts/molecule $* test

collection:
	mkdir -p build
	ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build .cache
