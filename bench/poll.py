#!/usr/bin/env python3
"""What Ansible's internal poll interval costs while a playbook waits, and
what it adds to each task. Prints a table; asserts nothing.

    .venv/bin/python bench/poll.py [--wait S] [--tasks N] [--runs R]

While a task runs, ansible-playbook's main process checks its workers for
results every `internal_poll_interval` seconds ([defaults] in ansible.cfg;
no environment variable sets it), asking each worker whether it is dead
every time. Ansible's default, 0.001 s (the baseline row), keeps about a
twentieth of a core busy in every playbook that waits on a task. For each
interval this runs, on 127.0.0.1 over the local connection (no hosts, no
network), R times each:

- one task that sleeps S seconds: the controller CPU it costs, less that of
  the same play with a task that does not sleep, per minute of waiting;
- N small module tasks (command /bin/true) and one: the wall time each task
  adds, (median wall of N - median wall of 1) / (N - 1).

Controller CPU is the user+system time of ansible-playbook and its children,
the module processes included; the machine should be otherwise idle for the
wall-time column.
"""

from __future__ import annotations

import argparse
import configparser
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.pipeline import bench_settings, bench_timed  # noqa: E402

BASELINE = 0.001  # ansible-core's default
INTERVALS = (BASELINE, 0.005, 0.01, 0.02)


def configured() -> float:
    """The interval the project's ansible.cfg sets."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "ansible.cfg")
    return config.getfloat("defaults", "internal_poll_interval", fallback=BASELINE)


def play(work: Path, name: str, tasks: list[str]) -> Path:
    path = work / f"{name}.yml"
    body = "".join(f"    - name: Task {n}\n      ansible.builtin.command: {command}\n      changed_when: false\n"
                   for n, command in enumerate(tasks))
    path.write_text(f"---\n- name: {name}\n  hosts: all\n  gather_facts: false\n  tasks:\n{body}")
    return path


def run(work: Path, playbook: Path, interval: float) -> tuple[float, float]:
    """Wall and controller CPU seconds of one run at `interval`."""
    config = work / "ansible.cfg"
    config.write_text(f"[defaults]\nforks = 20\ninternal_poll_interval = {interval}\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(config)}
    return bench_timed(["ansible-playbook", "-i", "127.0.0.1,", "-c", "local",
                        "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)], env)


def median_of(runs: int, work: Path, playbook: Path, interval: float) -> tuple[float, float]:
    results = [run(work, playbook, interval) for _ in range(runs)]
    return statistics.median(w for w, _ in results), statistics.median(c for _, c in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=20)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    bench_settings()
    ours = configured()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        waits = play(work, "wait", [f"sleep {options.wait}"])
        short = play(work, "short", ["/bin/true"])
        many = play(work, "many", ["/bin/true"] * options.tasks)
        print(f"{'internal_poll_interval':24} {'CPU s per min waiting':>21} {'ms per task':>11}")
        for interval in sorted({*INTERVALS, ours}):
            _, waited = median_of(options.runs, work, waits, interval)
            one, idle = median_of(options.runs, work, short, interval)
            lots, _ = median_of(options.runs, work, many, interval)
            per_minute = max(0.0, waited - idle) * 60 / options.wait
            per_task = (lots - one) / (options.tasks - 1) * 1000
            label = f"{interval:g}" + (" (Ansible's default)" if interval == BASELINE else "") + \
                (" (ansible.cfg)" if interval == ours else "")
            print(f"{label:24} {per_minute:21.2f} {per_task:11.0f}", flush=True)


if __name__ == "__main__":
    main()
