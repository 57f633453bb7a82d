"""phoenix.deploy.base on a real phoenix host: bad input stops before any
change, and the role works from the built collection on its own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.ansible import ansible_playbook

from conftest import assert_stopped_naming

PLAYBOOK = """\
- name: Apply the base role
  hosts: all
  roles:
    - role: phoenix.deploy.base
"""


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="module")
def good_vars(ssh_key) -> dict:
    return {
        "base_deploy_authorized_keys": [ssh_key.with_suffix(".pub").read_text().strip()],
        "base_time_servers": [],
    }


@pytest.fixture(scope="module")
def playbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("play") / "base.yml"
    path.write_text(PLAYBOOK)
    return path


BAD_INPUTS = [
    pytest.param({"base_sshd_port": 70000}, "base_sshd_port", id="port-70000"),
    pytest.param({"base_sshd_port": "ssh"}, "base_sshd_port", id="port-not-a-number"),
    pytest.param({"base_deploy_authorized_keys": []}, "base_deploy_authorized_keys", id="no-ssh-keys"),
    pytest.param({"base_deploy_authorized_keys": ["not a key"]}, "base_deploy_authorized_keys", id="not-a-key"),
    pytest.param({"base_timezone": "Mars/Olympus_Mons"}, "base_timezone", id="unknown-timezone"),
    pytest.param({"base_locale": "xx_XX.UTF-8"}, "base_locale", id="unknown-locale"),
    pytest.param({"base_firewall_allow": [{"port": 70000}]}, "base_firewall_allow", id="firewall-port-70000"),
    pytest.param({"base_firewall_allow": [{"port": 80, "proto": "sctp"}]}, "proto", id="firewall-unknown-proto"),
    pytest.param({"base_deploy_user": "root"}, "base_deploy_user", id="deploy-user-root"),
]


@pytest.mark.parametrize(("override", "named"), BAD_INPUTS)
def test_bad_input_stops_before_anything_changes(phoenix_host, pristine, playbook, good_vars, override, named, tmp_path):
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**good_vars, **override}))

    run = ansible_playbook("-i", str(phoenix_host.inventory), str(playbook), "-e", f"@{extra}")

    assert_stopped_naming(run, named)
    assert phoenix_host.filesystem_changes() == pristine


def test_built_collection_runs_on_its_own(phoenix_host, pristine, playbook, good_vars, ssh_key, tmp_path):
    """Build the tarball, install it into an empty collections path and apply
    the role from there, outside this checkout; then log in over real SSH."""
    build = subprocess.run(
        ["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, check=True,
    )
    tarball = next(tmp_path.glob("phoenix-deploy-*.tar.gz"))
    members = subprocess.run(["tar", "tzf", str(tarball)], capture_output=True, text=True, check=True).stdout
    for dev_only in ("molecule/", "tests/", "inventories/", "bench/", "images/", "Makefile", "playbooks/local_hosts.yml"):
        assert dev_only not in members, f"{dev_only} should not ship in the collection ({build.stdout})"

    # Nothing of this checkout is visible from here: no ansible.cfg, no
    # ANSIBLE_* settings, only the empty collections path we install into.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    collections = tmp_path / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(collections), str(tarball)],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    assert (collections / "ansible_collections" / "phoenix" / "deploy" / "roles" / "base").is_dir()
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(good_vars))
    run = ansible_playbook(
        "-i", str(phoenix_host.inventory), str(playbook), "-e", f"@{extra}", cwd=elsewhere, env=env,
    )
    assert run.rc == 0, run.output

    ssh = [
        "ssh", "-i", str(ssh_key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
    ]
    address = phoenix_host.address()
    login = subprocess.run([*ssh, f"deploy@{address}", "id -un"], capture_output=True, text=True, check=False)
    assert login.returncode == 0 and login.stdout.strip() == "deploy", login.stderr
    as_root = subprocess.run([*ssh, f"root@{address}", "true"], capture_output=True, text=True, check=False)
    assert as_root.returncode != 0
    by_password = subprocess.run(
        [*ssh[:1], "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
         f"deploy@{address}", "true"],
        capture_output=True, text=True, check=False,
    )
    assert by_password.returncode != 0
    assert "Permission denied (publickey)" in by_password.stderr
