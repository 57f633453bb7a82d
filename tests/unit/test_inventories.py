"""The environments are the same but for host counts, addresses, connection
details and secrets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.vaulted import Encrypted, load_all

ENVIRONMENTS = ["dev", "staging", "production"]
# Variables one environment may have that another lacks, and why.
ALLOWED_DIFFERENCES = {
    "phoenix_published_ports": "dev publishes the load balancer on this machine's 127.0.0.1",
    "phoenix_address": "real hosts name their address; dev containers find theirs in facts",
}


def load(path: Path):
    documents = load_all(path.read_text())
    return (documents[0] if documents else None) or {}


def groups_and_hosts(tree: dict, group: str = "all", found=None):
    """{group: {host: vars}} of an inventory's hosts.yml."""
    found = {} if found is None else found
    found.setdefault(group, {}).update(tree.get("hosts") or {})
    for child, subtree in (tree.get("children") or {}).items():
        groups_and_hosts(subtree or {}, child, found)
    return found


def inventory(env: str) -> dict:
    return groups_and_hosts(load(ROOT / "inventories" / env / "hosts.yml")["all"])


def variable_names(env: str) -> dict[str, set[str]]:
    """Names each group sets, in group_vars and on its hosts."""
    names: dict[str, set[str]] = {}
    for path in sorted((ROOT / "inventories" / env / "group_vars").glob("*/*.yml")):
        names.setdefault(path.parent.name, set()).update(load(path))
    for group, hosts in inventory(env).items():
        for host_vars in hosts.values():
            names.setdefault(f"{group} hosts", set()).update(host_vars or {})
    return {group: variables - set(ALLOWED_DIFFERENCES) for group, variables in names.items()}


def test_every_environment_has_the_same_groups():
    expected = {"all", "lb", "db", "backup", "app", "blue", "green"}
    for env in ENVIRONMENTS:
        assert set(inventory(env)) == expected, env


@pytest.mark.parametrize("env", ENVIRONMENTS + ["vagrant"])
def test_backups_live_off_the_database_host(env):
    """Each environment has a backup host, and it is never the database's
    machine: losing the database host must not lose its backups."""
    hosts = inventory(env)
    assert hosts.get("backup"), f"{env} has no backup host"
    machines = {group: {v.get("ansible_host", h) for h, v in hosts[group].items()} for group in ("db", "backup")}
    assert not machines["db"] & machines["backup"], f"{env}: the backup repository is on the database host"


@pytest.mark.parametrize("env", ["staging", "production"])
def test_every_environment_defines_the_same_variables_as_dev(env):
    assert variable_names(env) == variable_names("dev")


def test_staging_is_a_scale_model_never_one_box():
    staging = inventory("staging")
    for color in ("blue", "green"):
        assert len(staging[color]) >= 2, f"staging needs at least 2 {color} hosts"
    machines = [host_vars["ansible_host"] for group in staging.values() for host_vars in group.values()]
    assert len(machines) == len(set(machines)), "two staging hosts share a machine"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_its_own_encrypted_vault(env):
    vault = load(ROOT / "inventories" / env / "group_vars" / "all" / "vault.yml")
    assert vault, f"{env} has no secrets in its vault"
    for name, value in vault.items():
        assert isinstance(value, Encrypted), f"{env}: {name} is not encrypted"
        assert value.vault_id == env, f"{env}: {name} is encrypted for vault id '{value.vault_id}'"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_are_read_from_the_vault(env):
    settings = load(ROOT / "inventories" / env / "group_vars" / "all" / "main.yml")
    for name in ("app_database_password", "postgresql_app_password"):
        assert settings[name] == "{{ vault_db_password }}", f"{env}: {name} must come from the vault"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ansible_sees_exactly_the_declared_hosts(env):
    """Every file in an inventory folder is read as inventory: a stray file
    (a password file, say) would become a host."""
    graph = subprocess.run(
        ["ansible-inventory", "-i", f"inventories/{env}", "--graph"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    seen = {line.split("--", 1)[1] for line in graph.splitlines() if "--" in line and "@" not in line}
    declared = {host for hosts in inventory(env).values() for host in hosts}
    assert seen == declared
