"""The phoenix.deploy.artifact_checksums lookup, and the app role's artifact
check that reads it on the controller."""

from __future__ import annotations

import hashlib

from ansible_collections.phoenix.deploy.plugins.lookup.artifact_checksums import LookupModule
from tests.support.ansible import ansible_playbook


def artifact(tmp_path, data: bytes = b"release bytes", said: str | None = None):
    path = tmp_path / "shop-v1.2.0.tar.gz"
    path.write_bytes(data)
    if said is not None:
        (tmp_path / "shop-v1.2.0.tar.gz.sha256").write_text(said)
    return path


def test_it_gives_the_artifact_s_sha256_and_the_one_its_file_says(tmp_path):
    digest = hashlib.sha256(b"release bytes").hexdigest()
    path = artifact(tmp_path, said=f"{digest}  shop-v1.2.0.tar.gz\n")

    assert LookupModule().run([str(path)]) == [{"sha256": digest, "expected": digest}]


def test_a_missing_file_gives_an_empty_string(tmp_path):
    assert LookupModule().run([str(tmp_path / "none.tar.gz")]) == [{"sha256": "", "expected": ""}]
    path = artifact(tmp_path)
    assert LookupModule().run([str(path)])[0]["expected"] == ""


def test_the_app_role_refuses_an_artifact_changed_after_it_was_built(tmp_path):
    path = artifact(tmp_path, said=f"{hashlib.sha256(b'other bytes').hexdigest()}  shop-v1.2.0.tar.gz\n")
    playbook = tmp_path / "check.yml"
    playbook.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: phoenix.deploy.app
        tasks_from: artifact
      vars:
        app_release: v1.2.0
        app_artifact: {path}
""")

    run = ansible_playbook("-i", "localhost,", str(playbook))

    assert run.rc != 0
    assert f"app_artifact {path} has sha256 {hashlib.sha256(b'release bytes').hexdigest()}, its checksum file says otherwise" \
        in run.output
