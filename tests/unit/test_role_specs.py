"""Every role documents exactly the inputs it has, and says them truly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def defaults(role: str) -> dict:
    return load(ROOT / "roles" / role / "defaults" / "main.yml")


# Entry points that document a playbook's own arguments (-e release=...),
# not the role's inputs: they have no role default and no role prefix
# (tests/unit/test_pipeline_settings.py covers them).
PLAYBOOK_ARGUMENTS = {("deploy", "arguments")}


def spec_options(role: str) -> dict:
    """The options of every entry point (main, and tasks_from ones)."""
    specs = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    options: dict = {}
    for name, entry_point in specs.items():
        if (role, name) not in PLAYBOOK_ARGUMENTS:
            options.update(entry_point.get("options", {}))
    return options


def test_there_are_roles():
    assert "base" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_name_every_default_and_nothing_else(role):
    assert set(spec_options(role)) == set(defaults(role))


@pytest.mark.parametrize("role", ROLES)
def test_every_input_carries_the_role_prefix(role):
    unprefixed = [name for name in defaults(role) if not name.startswith(f"{role}_")]
    assert not unprefixed


@pytest.mark.parametrize("role", ROLES)
def test_documented_defaults_are_the_real_defaults(role):
    real = defaults(role)
    wrong = {
        name: (option["default"], real[name])
        for name, option in spec_options(role).items()
        if "default" in option and option["default"] != real[name]
    }
    assert not wrong, f"spec default != defaults/main.yml: {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_every_input_is_described_and_typed(role):
    for name, option in spec_options(role).items():
        assert option.get("description"), f"{role}: {name} has no description"
        assert option.get("type"), f"{role}: {name} has no type"


@pytest.mark.parametrize("role", [r for r in ROLES if (ROOT / "roles" / r / "vars" / "main.yml").exists()])
def test_internal_vars_are_underscored(role):
    internal = load(ROOT / "roles" / role / "vars" / "main.yml")
    public = [name for name in internal if not name.startswith(f"_{role}_")]
    assert not public, f"vars/ holds names that look like inputs: {public}"
