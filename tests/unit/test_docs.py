"""ansible-doc renders every module, filter and role of the collection."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))
FILTERS = sorted(p.stem for p in (ROOT / "plugins" / "filter").glob("*.py") if p.stem != "__init__")
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def ansible_doc(*args: str) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    out = subprocess.run(["ansible-doc", "--json", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_collection_has_its_modules():
    assert {"db_migrate", "health_check", "canary_judge"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module):
    doc = ansible_doc(f"phoenix.deploy.{module}")[f"phoenix.deploy.{module}"]
    assert doc["doc"]["short_description"]
    assert doc["doc"]["options"]
    assert doc["examples"].strip()
    assert doc["return"]


@pytest.mark.parametrize("name", FILTERS)
def test_filter_documentation_renders(name):
    doc = ansible_doc("-t", "filter", f"phoenix.deploy.{name}")[f"phoenix.deploy.{name}"]
    assert doc["doc"]["short_description"]
    assert doc["doc"]["description"]
    assert doc["examples"].strip()
    assert doc["return"]


@pytest.mark.parametrize("role", ROLES)
def test_role_documentation_renders(role):
    doc = ansible_doc("-t", "role", f"phoenix.deploy.{role}")[f"phoenix.deploy.{role}"]
    assert doc["entry_points"]["main"]["options"]
