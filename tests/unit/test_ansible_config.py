"""The test scenarios run Ansible as the checkout's ansible.cfg does. Molecule
writes an ansible.cfg of its own, so molecule/config.yml says the same again:
this checks that it does."""

from __future__ import annotations

import configparser
import json
import subprocess

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


def ansible_reads() -> set[str]:
    """Every environment variable Ansible itself reads, and those of the
    stdout callback every run uses (ansible.builtin.default)."""
    from ansible import constants

    names = {env["name"] for setting in constants.config.get_configuration_definitions().values()
             for env in setting.get("env", [])}
    doc = subprocess.run(["ansible-doc", "--json", "-t", "callback", "ansible.builtin.default"],
                         capture_output=True, text=True, check=True).stdout
    options = json.loads(doc)["ansible.builtin.default"]["doc"]["options"]
    return names | {env["name"] for option in options.values() for env in option.get("env", [])}


def test_molecule_gives_ansible_only_settings_it_reads():
    """A misspelt name is silently ignored: ANSIBLE_INTERPRETER_PYTHON (for
    ANSIBLE_PYTHON_INTERPRETER) once left every host's Python to discovery."""
    reads = ansible_reads()
    assert "ANSIBLE_PYTHON_INTERPRETER" in reads
    unread = sorted(name for name in molecule_ansible()["env"] if name.startswith("ANSIBLE_") and name not in reads)
    assert not unread, f"molecule/config.yml sets {', '.join(unread)}, which Ansible does not read"


def test_hosts_python_is_named_not_discovered():
    assert checkout_config().get("defaults", "interpreter_python") == "/usr/bin/python3"
    assert molecule_ansible()["cfg"]["defaults"]["interpreter_python"] == "/usr/bin/python3"
