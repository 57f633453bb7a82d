"""Shared fixtures for the infrastructure tests.

These tests run against any inventory, molecule's or a real environment's:

    pytest tests/infra --hosts=ansible://all --ansible-inventory=inventories/<env> --connection=ansible

Each role records what it put in place, rendered, as a local fact
(/etc/ansible/facts.d/phoenix_<role>.fact); the tests compare what really
runs on the host against that record.

A test module about some kinds of server says so with `phoenix_group = "db"`
(or a list of groups): its tests run on the hosts of those inventory groups
and are deselected on the others (they are not about them).
"""

from __future__ import annotations

import json

import pytest


def pytest_collection_modifyitems(config, items):
    selected, deselected = [], []
    for item in items:
        wanted = getattr(item.module, "phoenix_group", None)
        wanted = [wanted] if isinstance(wanted, str) else wanted
        host = getattr(item, "callspec", None) and item.callspec.params.get("_testinfra_host")
        if wanted and host is not None and not set(wanted) & set(host.ansible.get_variables().get("group_names", [])):
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="module")
def recorded(host):
    """recorded("base") -> what the base role put in place on this host."""

    def read(role: str) -> dict:
        path = f"/etc/ansible/facts.d/phoenix_{role}.fact"
        fact = host.file(path)
        assert fact.exists, f"{path} is missing: has the {role} role converged on {host.backend.get_hostname()}?"
        return json.loads(fact.content_string)

    return read


@pytest.fixture
def assert_service_up(host):
    """Assert a unit is enabled and running; on failure, show its journal."""

    def check(unit: str) -> None:
        service = host.service(unit)
        if service.is_running and service.is_enabled:
            return
        journal = host.run("journalctl -u %s -n 40 --no-pager", unit).stdout
        pytest.fail(
            f"{unit} on {host.backend.get_hostname()}: running={service.is_running} "
            f"enabled={service.is_enabled}\n--- journal ---\n{journal}"
        )

    return check


def http_get(host, url: str) -> str:
    """GET `url` from the host itself with its python3 (no curl on a bare
    phoenix host); the body, or a failed assertion on any error status."""
    return host.check_output(
        "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' %s",
        url,
    )
