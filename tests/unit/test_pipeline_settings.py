"""The release pipeline's settings are one documented contract: every
deploy_* name the playbooks, the inventories and the wrapper read is a
setting of phoenix.deploy.deploy, with a default and a specification, and
the playbooks read them only through playbooks/vars/pipeline.yml."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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
