"""The test scenarios run Ansible as the checkout's ansible.cfg does. Molecule
writes an ansible.cfg of its own, so molecule/config.yml says the same again:
this checks that it does."""

from __future__ import annotations

import configparser

import yaml

from tests.support import ROOT


def checkout_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "ansible.cfg")
    return config


def molecule_ansible() -> dict:
    return yaml.safe_load((ROOT / "molecule" / "config.yml").read_text())["ansible"]


def test_molecule_sets_what_it_sets_as_ansible_cfg_does():
    config = checkout_config()
    settings = molecule_ansible()["cfg"]
    assert settings, "molecule/config.yml sets no ansible.cfg option"
    for section, options in settings.items():
        for key, value in options.items():
            assert config.get(section, key, fallback=None) == str(value), \
                f"molecule/config.yml sets [{section}] {key} = {value}, ansible.cfg {config.get(section, key, fallback=None)}"


def test_molecule_pipelines_as_ansible_cfg_does():
    assert molecule_ansible()["env"]["ANSIBLE_PIPELINING"] == "True"
    assert checkout_config().getboolean("connection", "pipelining")
