#!/usr/bin/env python3
"""Release pipeline benchmark: the pipeline against a naive serial restart.
Prints a table; asserts nothing.

    .venv/bin/python bench/pipeline.py [--keep]

Makes the molecule/bench environment (lb, db, three blue and three green app
hosts as phoenix containers, converged by site.yml with v1.0.0), then, with a
steady load of GET /version through the load balancer (only to the test
containers, bounded in count and time), measures for each operation:

- failed requests out of the total while it ran;
- wall time of the command;
- switch time: from the command's start until every request gets the new
  release (the first moment after which no answer is older);

for the pipeline (canary, blue-green, rollback by switching back) and for a
naive deploy (bench/naive_deploy.yml: the app role on each live host in turn,
restarting without draining, as many hand-written playbooks do), with six app
hosts and with two (the other four in maintenance in HAProxy and left out of
the inventory). --keep leaves the environment up afterwards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import Load  # noqa: E402
from tests.support.pipeline import Environment, bench_environment  # noqa: E402

RATE = 40
SETTINGS = ["-e", "deploy_canary_window=5", "-e", "deploy_canary_min_requests=5", "-e", '{"deploy_canary_steps": [10, 50]}']
ROWS: list[tuple] = []


def switch_seconds(load: Load, start: float, end: float, release: str) -> float | None:
    """Seconds from start until the first moment after which every answer is
    `release` (None when that never happened before `end` + 5 s)."""
    samples = load.between(start, end + 5)
    last_other = max((s.start + s.seconds for s in samples if release.encode() not in s.body), default=start)
    if last_other >= end + 5 - 0.5:
        return None
    return max(0.0, last_other - start)


def measure(load: Load, env: Environment, hosts: int, label: str, method: str, release: str, run) -> None:
    start = time.monotonic()
    result = run()
    end = time.monotonic()
    time.sleep(5)  # let the answers after the command show where traffic went
    samples = load.between(start, end)
    failed = Load.failed(samples)
    switch = switch_seconds(load, start, end, release)
    outcome = "ok" if result.returncode == 0 else f"rc {result.returncode}"
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: {label} ({method}) failed; the rest would measure a broken environment")
    ROWS.append((label, hosts, method, outcome, end - start, switch, len(samples), len(failed)))
    print(f"  {label} ({hosts} app hosts, {method}): {outcome}, {end - start:.1f} s, {len(failed)}/{len(samples)} failed",
          flush=True)


# Each operation: label, method, the release it should leave serving, and
# how: a pipeline playbook with its arguments, or the naive deploy of a release.
SIX_HOSTS = [
    ("deploy v1.1.0", "pipeline canary", "v1.1.0", ("deploy.yml", "-e", "release=v1.1.0", "-e", "deploy_strategy=canary")),
    ("deploy v1.2.0", "pipeline blue-green", "v1.2.0", ("deploy.yml", "-e", "release=v1.2.0", "-e", "deploy_strategy=bluegreen")),
    ("roll back to v1.1.0", "pipeline switch back", "v1.1.0", ("rollback.yml",)),
    ("deploy v1.2.0", "naive serial restart", "v1.2.0", "naive"),
    ("roll back to v1.1.0", "naive serial restart", "v1.1.0", "naive"),
]
TWO_HOSTS = [
    ("deploy v1.0.0", "pipeline blue-green", "v1.0.0", ("deploy.yml", "-e", "release=v1.0.0", "-e", "deploy_strategy=bluegreen")),
    ("roll back to v1.1.0", "pipeline switch back", "v1.1.0", ("rollback.yml",)),
    ("deploy v1.0.0", "naive serial restart", "v1.0.0", "naive"),
    ("roll back to v1.1.0", "naive serial restart", "v1.1.0", "naive"),
]


def run_all(load: Load, env: Environment, hosts: int, operations: list) -> None:
    print(f"{hosts} app hosts:", flush=True)
    for label, method, release, how in operations:
        if how == "naive":
            def run(release=release):
                return env.playbook("../bench/naive_deploy.yml", "-e", f"release={release}", "-e", f"naive_color={env.live()}")
        else:
            def run(how=how):
                return env.playbook(*how)
        measure(load, env, hosts, label, method, release, run)


def two_hosts(env: Environment, work: Path) -> Environment:
    """The same containers, with one app host per color: the others leave
    HAProxy (maintenance) and the inventory."""
    inventory = work / "inventory-2"
    shutil.rmtree(inventory, ignore_errors=True)
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(ROOT / "inventories" / "dev" / "group_vars")

    def hosts(*names: str) -> dict:
        return {"hosts": {n: {"ansible_host": env.containers[n], "ansible_connection": "community.docker.docker",
                              "ansible_user": "root"} for n in names}}

    layout = {"all": {"children": {"lb": hosts("lb1"), "db": hosts("db1"), "backup": hosts("backup1"),
                                   "app": {"children": {"blue": hosts("blue1"), "green": hosts("green1")}}}}}
    (inventory / "hosts.yml").write_text(json.dumps(layout))
    for host in env.app_hosts:
        if host not in ("blue1", "green1"):
            env.haproxy(f"set server {env.color(host)}/{host} state maint")
    return Environment(inventory, env.artifacts, SETTINGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the environment up")
    args = parser.parse_args()
    with bench_environment(SETTINGS, keep=args.keep) as env:
        with Load(f"http://{env.address('lb1')}/version", rate=RATE, max_seconds=2400) as load:
            run_all(load, env, 6, SIX_HOSTS)
            small = two_hosts(env, env.inventory.parent)
            # Releases the two hosts get are installed afresh, as on six.
            small.forget("green1", "v1.0.0")
            small.forget("blue1", "v1.0.0")
            run_all(load, small, 2, TWO_HOSTS)
    print(f"\nDeploys and rollbacks under {RATE} requests/s of GET /version through HAProxy")
    header = ("operation", "app hosts", "method", "outcome", "wall s", "switch s", "requests", "failed", "failed %")
    print(f"{header[0]:22} {header[1]:>9}  {header[2]:22} {header[3]:8} {header[4]:>7} {header[5]:>8} {header[6]:>8} "
          f"{header[7]:>6} {header[8]:>8}")
    for label, hosts, method, outcome, wall, switch, requests, failed in ROWS:
        switch_text = f"{switch:.1f}" if switch is not None else "never"
        share = 100 * failed / requests if requests else 0
        print(f"{label:22} {hosts:>9}  {method:22} {outcome:8} {wall:7.1f} {switch_text:>8} {requests:8d} {failed:6d} "
              f"{share:7.2f}%")


if __name__ == "__main__":
    main()
