"""Shared fixtures for the infrastructure tests.

These tests run against any inventory, molecule's or a real environment's:

    pytest tests/infra --hosts=ansible://all --ansible-inventory=inventories/<env>

Expected values are the role defaults overlaid with the host's inventory
variables, so the same assertions hold in molecule, in dev and in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _role_defaults(role: str) -> dict:
    path = ROOT / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {}


@pytest.fixture(scope="module")
def hostvars(host):
    """Role defaults overlaid with what the inventory sets for this host."""
    variables = _role_defaults("base")
    variables.update(host.ansible.get_variables())
    return variables


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
