#!/usr/bin/env python3
"""What one Ansible task costs on each way of reaching a host. Prints a
table; asserts nothing.

    .venv/bin/python bench/overhead.py [--tasks N] [--runs R]

Brings up one phoenix container (playbooks/local_hosts.yml, network
phoenix-overhead) and runs a play of N small module tasks (command, stat,
file), each its own task, against it, and the same play with one task, R times each, for every
row: the docker connection with and without pipelining (the baseline is
ansible-core's default, pipelining off), and Mitogen's mitogen_linear
strategy over its own docker connection (the `mitogen` package of
requirements.txt, which the test scenarios run on). The per-task overhead is
(median wall of N tasks - median wall of 1 task) / (N - 1); controller CPU is
the user+system time of ansible-playbook and its children. The container is
removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ansible_mitogen.plugins.strategy as mitogen_strategies  # noqa: E402

from tests.support.pipeline import SMALL_TASK_MODULES, bench_per_task, bench_settings  # noqa: E402

NETWORK = "phoenix-overhead"
DOCKER = "community.docker.docker"
HOST = "overhead1"


def local_hosts(inventory: Path, state: str) -> None:
    subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "local_hosts.yml"),
                    "-e", f"local_hosts_state={state}", "-e", f"local_hosts_network={NETWORK}"],
                   check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    bench_settings()
    rows = [
        ("docker exec, no pipelining (baseline)", {"ANSIBLE_PIPELINING": "False", "ANSIBLE_TRANSPORT": DOCKER}),
        ("docker exec, pipelining", {"ANSIBLE_PIPELINING": "True", "ANSIBLE_TRANSPORT": DOCKER}),
        # Mitogen takes over the connection named `docker` (not its
        # community.docker FQCN): one interpreter per host, kept open.
        ("mitogen_linear, docker", {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_TRANSPORT": "docker",
                                    "ANSIBLE_STRATEGY_PLUGINS": str(Path(mitogen_strategies.__file__).parent)}),
    ]
    with tempfile.TemporaryDirectory() as work:
        inventory = Path(work) / "hosts"
        inventory.write_text(f"{HOST} ansible_host={NETWORK}-{HOST}\n")
        local_hosts(inventory, "present")
        try:
            print(f"{'connection':40} {'module':8} {'ms/task p50':>11} {'1 task s':>8} "
                  f"{options.tasks:>3} tasks s {'CPU s':>6}")
            for module in SMALL_TASK_MODULES:
                for label, extra in rows:
                    env = {**os.environ, **extra}
                    per_task, one_wall, many_wall, cpu = bench_per_task(inventory, module, options.tasks,
                                                                        options.runs, env)
                    print(f"{label:40} {module:8} {per_task:11.0f} {one_wall:8.2f} {many_wall:11.2f} {cpu:6.2f}",
                          flush=True)
        finally:
            local_hosts(inventory, "absent")


if __name__ == "__main__":
    main()
