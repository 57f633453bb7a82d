"""The release pipeline's settings are one documented contract: every
deploy_* name the playbooks, the inventories and the wrapper read is a
setting of phoenix.deploy.deploy, with a default and a specification, and
the playbooks read them only through playbooks/vars/pipeline.yml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = {p.stem for p in (ROOT / "plugins").glob("*/*.py")}
NAME = re.compile(r"\bdeploy_[a-z_]+\b")


def read(path: Path) -> str:
    return path.read_text()


def spec() -> dict:
    return yaml.safe_load(read(ROOT / "roles" / "deploy" / "meta" / "argument_specs.yml"))["argument_specs"]["main"]["options"]


def defaults() -> dict:
    return yaml.safe_load(read(ROOT / "roles" / "deploy" / "defaults" / "main.yml"))


def code(path: Path) -> str:
    """A file without its whole-line comments."""
    return "\n".join(line for line in read(path).splitlines() if not line.lstrip().startswith("#"))


def names_in(*paths: Path) -> dict[str, set[str]]:
    """deploy_* names (not the collection's modules and filters) per file,
    outside comments."""
    found: dict[str, set[str]] = {}
    for path in paths:
        names = set(NAME.findall(code(path))) - PLUGINS
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


def pipeline_files() -> list[Path]:
    return [*sorted((ROOT / "playbooks").rglob("*.yml")), *sorted((ROOT / "playbooks").rglob("*.j2")),
            *sorted((ROOT / "inventories").rglob("*.yml")), ROOT / "deploy"]


def test_every_setting_read_anywhere_is_documented_with_a_default():
    documented = set(spec()) & set(defaults())
    undocumented = {path: sorted(names - documented) for path, names in names_in(*pipeline_files()).items()
                    if names - documented}
    assert not undocumented, f"deploy_* settings without a specification and a default: {undocumented}"


def test_the_playbooks_read_each_setting_through_vars_pipeline_only():
    """A play may set deploy_action; every other read goes through the
    pipeline_* name, so a setting has one place that reads it."""
    mapping = ROOT / "playbooks" / "vars" / "pipeline.yml"
    direct = {path: sorted(names - {"deploy_action"})
              for path, names in names_in(*[p for p in (ROOT / "playbooks").rglob("*.yml") if p != mapping]).items()
              if names - {"deploy_action"}}
    assert not direct, f"deploy_* read directly, not through playbooks/vars/pipeline.yml: {direct}"


def test_every_setting_has_a_pipeline_name():
    mapping = read(ROOT / "playbooks" / "vars" / "pipeline.yml")
    unread = [name for name in spec() if f"{{{{ {name}" not in mapping]
    assert not unread, f"settings that playbooks/vars/pipeline.yml does not read: {unread}"


def arguments() -> dict:
    return yaml.safe_load(read(ROOT / "roles" / "deploy" / "meta" / "argument_specs.yml"))["argument_specs"]["arguments"]["options"]


USAGE = re.compile(r"-e\s+'?\{?\"?([a-z_]+)\"?[=:]")


def role_options() -> set[str]:
    """Every option of every role's entry points."""
    options: set[str] = set()
    for path in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(read(path))["argument_specs"].values():
            options |= set(entry.get("options", {}))
    return options


def test_every_argument_a_pipeline_playbook_names_is_documented():
    """The -e arguments each pipeline playbook's usage (its header) names
    are documented: the `arguments` entry point's options, or a role's
    setting (deploy_*, app_flags, app_release); and each argument is read
    by a playbook."""
    named: dict[str, list[str]] = {}
    for path in sorted((ROOT / "playbooks").glob("*.yml")):
        if "tasks_from: check" not in read(path) and "import_playbook: deploy.yml" not in read(path):
            continue
        header = "\n".join(line for line in read(path).splitlines() if line.startswith("#"))
        for name in USAGE.findall(header):
            named.setdefault(name, []).append(path.name)
    assert {"release", "rebuild_host", "migrate_phases", "allow_bad"} <= set(named), named
    undocumented = {name: files for name, files in named.items() if name not in set(arguments()) | role_options()}
    assert not undocumented, f"arguments a playbook names without a specification: {undocumented}"
    playbooks = "\n".join(code(p) for p in (ROOT / "playbooks").rglob("*.yml"))
    unread = [name for name in arguments() if not re.search(rf"\b{name}\b", playbooks)]
    assert not unread, f"arguments the specification documents and no playbook reads: {unread}"


@pytest.mark.parametrize("argument, value", [
    ("status_history", "lots"),
    ("migrate_phases", "shrink"),
    ("allow_bad", "perhaps"),
])
def test_a_bad_argument_stops_the_run_in_one_line_that_names_it(tmp_path, argument, value):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[lb]\nlb1\n[db]\ndb1\n[all:vars]\nansible_connection=local\n")
    play = tmp_path / "check.yml"
    play.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.import_role:\n        name: phoenix.deploy.deploy\n        tasks_from: check\n"
        "      run_once: true\n")
    good = ansible_playbook("-i", str(inventory), str(play), "-e", "release=v1.2.0")
    assert good.rc == 0, good.output
    bad = ansible_playbook("-i", str(inventory), str(play), "-e", f"{argument}={value}")
    assert bad.rc != 0
    said = [line for line in bad.output.splitlines() if '"msg":' in line or "msg:" in line]
    assert len(said) == 1 and argument in said[0], bad.output
