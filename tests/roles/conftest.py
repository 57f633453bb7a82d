"""Fixtures for role tests that need a real phoenix host.

Each test module gets its own container from playbooks/local_hosts.yml (the
mechanism `make up` uses), on a network of its own, removed afterwards.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.ansible import ansible_playbook


@dataclass
class PhoenixHost:
    name: str
    container: str
    inventory: Path

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout

    def exec(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.container, *argv], capture_output=True, text=True, check=False)

    def filesystem_changes(self) -> set[str]:
        """Every path changed since the image, as `docker diff` reports it."""
        return set(self.docker("diff", self.container).splitlines())

    def address(self) -> str:
        networks = json.loads(self.docker("inspect", self.container))[0]["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]


@pytest.fixture(scope="module")
def phoenix_host(tmp_path_factory, request):
    name = "host"
    network = f"phoenix-pytest-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}"
    inventory = tmp_path_factory.mktemp("inventory") / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {name: {"ansible_host": f"{network}-{name}"}},
                    "vars": {"ansible_connection": "community.docker.docker", "ansible_user": "root"},
                }
            }
        )
    )
    local_hosts = ["-i", str(inventory), "playbooks/local_hosts.yml", "-e", f"local_hosts_network={network}"]
    up = ansible_playbook(*local_hosts)
    assert up.rc == 0, up.output
    try:
        yield PhoenixHost(name, f"{network}-{name}", inventory)
    finally:
        down = ansible_playbook(*local_hosts, "-e", "local_hosts_state=absent")
        assert down.rc == 0, down.output


@pytest.fixture(scope="module")
def pristine(phoenix_host):
    """The host's changes since the image once Ansible has reached it once."""
    ping = subprocess.run(
        ["ansible", "-i", str(phoenix_host.inventory), "all", "-m", "ansible.builtin.ping"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    return phoenix_host.filesystem_changes()


@pytest.fixture
def apply_role(phoenix_host, tmp_path):
    """apply_role("haproxy", {vars}) runs the role on the phoenix host."""

    def run(role: str, variables: dict):
        playbook = tmp_path / f"{role}.yml"
        playbook.write_text(f"- name: Apply {role}\n  hosts: all\n  roles:\n    - role: phoenix.deploy.{role}\n")
        extra = tmp_path / f"{role}-vars.json"
        extra.write_text(json.dumps(variables))
        return ansible_playbook("-i", str(phoenix_host.inventory), str(playbook), "-e", f"@{extra}")

    return run


def assert_stopped_naming(run, named: str) -> None:
    """The run failed, its error names `named`, and it changed nothing."""
    assert run.rc != 0, run.output
    assert "[ERROR]" in run.output, run.output
    failure = run.output[run.output.index("[ERROR]") : run.output.rfind("PLAY RECAP")]
    assert named in failure, f"the error does not name {named}:\n{run.output}"
    assert "changed=0" in run.output
