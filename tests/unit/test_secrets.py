"""No secret is committed unencrypted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support import ROOT
from tests.support.vaulted import Encrypted, load_all

SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|private_?key)", re.I)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Values that say "no password" rather than hold one.
NO_PASSWORD = {"*", "!", "!!"}
# Plaintext secrets that are meant to be public, and why.
ALLOWED = {
    "inventories/dev.vault-password": "the dev vault's password, documented for local use",
    "roles/app/molecule/default/molecule.yml": "a throwaway password of a test container",
    "roles/pgbackrest/molecule/default/molecule.yml": "a throwaway password of a test container",
    "molecule/pipeline/molecule.yml": "a throwaway password of test containers",
    "inventories/vagrant/group_vars/all/connection.yml": "the path of Vagrant's public, well-known insecure key",
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [path for path in out.splitlines() if (ROOT / path).is_file()]


def literal_secrets(document, path="") -> list[str]:
    """Keys that look like secrets and hold a literal (not a template, not empty)."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            literal = isinstance(value, str) and value and "{{" not in value and value not in NO_PASSWORD
            if SECRET_NAME.search(str(key)) and literal:
                found.append(where)
            found += literal_secrets(value, where)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += literal_secrets(value, f"{path}[{index}]")
    return found


def test_no_private_key_is_committed():
    offenders = [p for p in tracked_files() if PRIVATE_KEY.search((ROOT / p).read_text(errors="ignore"))]
    assert not offenders


def test_no_yaml_file_holds_a_literal_secret():
    offenders = {}
    for path in tracked_files():
        if not path.endswith((".yml", ".yaml")) or path in ALLOWED:
            continue
        text = (ROOT / path).read_text()
        if text.startswith("$ANSIBLE_VAULT"):
            continue
        for document in load_all(text):
            if found := literal_secrets(document):
                offenders[path] = found
    assert not offenders, f"unencrypted secrets: {offenders}"


def test_every_value_in_a_vault_file_is_encrypted():
    # Each environment's vault, inventories/<env>/group_vars/all/vault.yml.
    vaults = [p for p in tracked_files() if p.startswith("inventories/") and Path(p).name == "vault.yml"]
    assert vaults
    for path in vaults:
        for document in load_all((ROOT / path).read_text()):
            for name, value in (document or {}).items():
                assert isinstance(value, Encrypted), f"{path}: {name} is not encrypted"


def test_the_scan_finds_a_literal_secret():
    assert literal_secrets({"app": {"db_password": "hunter2hunter2"}}) == ["app.db_password"]
    assert literal_secrets({"db_password": "{{ vault_db_password }}"}) == []
    assert literal_secrets({"password": "*"}) == []
    assert literal_secrets({"vault_db_password": Encrypted("$ANSIBLE_VAULT;1.2;AES256;dev")}) == []
