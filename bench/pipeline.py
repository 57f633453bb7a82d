#!/usr/bin/env python3
"""Release pipeline benchmark: the control plane's operations over docker
exec and over SSH, against a naive serial restart, with issue 12's targets.
Prints tables; asserts nothing.

    .venv/bin/python bench/pipeline.py [--keep] [--connections docker,ssh] [--tasks 20] [--runs 3]

Makes the molecule/bench environment (lb, db, three blue and three green app
hosts as phoenix containers, converged by site.yml with v1.0.0), then, with a
steady load of GET /version through the load balancer (only to the test
containers, bounded in count and time), measures for each operation:

- failed requests out of the total while it ran;
- wall time of the command;
- switch time: from the command's start until every request gets the new
  release (the first moment after which no answer is older);

The operations: status; a refusal (a tag with no artifact); a deploy of the
live release (a noop plan); a canary (with six app hosts: a canary needs a
second host in the live color) and a blue-green deploy, each of a release
installed afresh; a rollback by switching back; and the naive deploy
and rollback (bench/naive_deploy.yml: the app role on each live host in turn,
restarting without draining, as many hand-written playbooks do). Each runs
with six app hosts and with two (the other four in maintenance in HAProxy and
left out of the inventory), over each connection: docker exec as root (the
dev environment) and SSH as the deploy user with become, to the base role's
sshd (as staging and production run). A last table gives each connection's
p50 cost of one more task (ms), from plays of small tasks on one app host.
--keep leaves the environment up afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import Load  # noqa: E402
from tests.support.pipeline import Environment, bench_environment, bench_per_task  # noqa: E402

RATE = 40
WINDOW, STEPS = 5, [10, 50]  # the canary's judgement: a window of WINDOW s at each step
SETTINGS = ["-e", f"deploy_canary_window={WINDOW}", "-e", "deploy_canary_min_requests=5",
            "-e", json.dumps({"deploy_canary_steps": STEPS})]
RELEASES = ("v1.0.0", "v1.1.0", "v1.2.0")
CONNECTIONS = {
    "docker": lambda env, host, key: {"ansible_connection": "community.docker.docker", "ansible_user": "root",
                                      "ansible_host": env.containers[host]},
    "ssh": lambda env, host, key: {"ansible_connection": "ansible.builtin.ssh", "ansible_user": "deploy",
                                   "ansible_host": env.address(host), "ansible_ssh_private_key_file": str(key),
                                   "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
}
ROWS: list[tuple] = []


def switch_seconds(load: Load, start: float, end: float, release: str) -> float | None:
    """Seconds from start until the first moment after which every answer is
    `release` (None when that never happened before `end` + 5 s)."""
    samples = load.between(start, end + 5)
    last_other = max((s.start + s.seconds for s in samples if release.encode() not in s.body), default=start)
    if last_other >= end + 5 - 0.5:
        return None
    return max(0.0, last_other - start)


def measure(load: Load, connection: str, hosts: int, label: str, method: str, release: str | None, run,
            ok: bool = True) -> float:
    start = time.monotonic()
    result = run()
    end = time.monotonic()
    if release:
        time.sleep(5)  # let the answers after the command show where traffic went
    samples = load.between(start, end)
    failed = Load.failed(samples)
    switch = switch_seconds(load, start, end, release) if release else None
    outcome = "ok" if result.returncode == 0 else f"rc {result.returncode}"
    if (result.returncode == 0) != ok:
        print(result.stdout[-3000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: {label} ({method}, {connection}) ended {outcome}; the rest would measure a broken environment")
    ROWS.append((connection, hosts, label, method, outcome, end - start, switch, len(samples), len(failed)))
    print(f"  {label} ({hosts} app hosts, {method}, {connection}): {outcome}, {end - start:.1f} s, "
          f"{len(failed)}/{len(samples)} failed", flush=True)
    return end - start


def run_all(load: Load, env: Environment, connection: str, hosts: int) -> None:
    """Every operation once, each from where the last left the environment
    (the live release, and the other two, each installed afresh): the
    canary only where each color has more than one host."""
    live = env.running()
    current = live[env.groups[live["live"]][0]]
    fresh, other = [release for release in RELEASES if release != current]
    print(f"{hosts} app hosts over {connection}, {current} live:", flush=True)

    def pipeline(playbook: str, *args: str):
        return lambda: env.playbook(playbook, *args)

    def naive(release: str):
        return lambda: env.playbook("../bench/naive_deploy.yml", "-e", f"release={release}", "-e", f"naive_color={env.live()}")

    def forget(release: str) -> None:
        """The release is installed afresh (artifact, virtualenv and all)."""
        for host in env.app_hosts:
            env.forget(host, release)

    measure(load, connection, hosts, "status", "pipeline status", None, pipeline("status.yml"))
    measure(load, connection, hosts, "refuse v9.9.9", "pipeline refusal", None,
            pipeline("deploy.yml", "-e", "release=v9.9.9"), ok=False)
    measure(load, connection, hosts, f"deploy {current} (live)", "pipeline noop", current,
            pipeline("deploy.yml", "-e", f"release={current}"))
    # A canary needs a host of the live color to stay on the old release.
    back = current
    if len(env.groups["blue"]) > 1:
        forget(fresh)
        canary = measure(load, connection, hosts, f"deploy {fresh}", "pipeline canary", fresh,
                         pipeline("deploy.yml", "-e", f"release={fresh}", "-e", "deploy_strategy=canary"))
        ROWS.append((connection, hosts, f"deploy {fresh}", "canary less its windows", "derived",
                     canary - WINDOW * len(STEPS), None, 0, 0))
        back = fresh
    forget(other)
    measure(load, connection, hosts, f"deploy {other}", "pipeline blue-green", other,
            pipeline("deploy.yml", "-e", f"release={other}", "-e", "deploy_strategy=bluegreen"))
    measure(load, connection, hosts, f"roll back to {back}", "pipeline switch back", back, pipeline("rollback.yml"))
    measure(load, connection, hosts, f"deploy {other}", "naive serial restart", other, naive(other))
    measure(load, connection, hosts, f"roll back to {back}", "naive serial restart", back, naive(back))


def reached(env: Environment, work: Path, connection: str, names: list[str], key: Path) -> Environment:
    """The same containers in an inventory of their own: the hosts `names`,
    reached over `connection` (the others out of it)."""
    inventory = work / f"inventory-{connection}-{len(names)}"
    shutil.rmtree(inventory, ignore_errors=True)
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(ROOT / "inventories" / "dev" / "group_vars")

    def hosts(*group: str) -> dict:
        return {"hosts": {n: CONNECTIONS[connection](env, n, key) for n in group if n in names}}

    blue, green = env.groups["blue"], env.groups["green"]
    layout = {"all": {"children": {"lb": hosts(*env.groups["lb"]), "db": hosts(*env.groups["db"]),
                                   "backup": hosts(*env.groups["backup"]),
                                   "app": {"children": {"blue": hosts(*blue), "green": hosts(*green)}}}}}
    (inventory / "hosts.yml").write_text(json.dumps(layout))
    return Environment(inventory, env.artifacts, SETTINGS, containers=env.containers)


def deploy_key(env: Environment, work: Path) -> Path:
    """A key of the bench's own, authorized for the deploy user on every
    host (beside the inventory's keys, until the next converge)."""
    key = work / "deploy_key"
    key.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "phoenix-bench", "-f", str(key)], check=True)
    public = key.with_suffix(".pub").read_text().strip()
    for host in env.containers:
        env.in_host(host, "sh", "-c", f"echo '{public}' >> ~deploy/.ssh/authorized_keys")
    return key


def two_hosts(env: Environment) -> list[str]:
    """One app host per color: the other four leave HAProxy (maintenance)."""
    keep = [env.groups["blue"][0], env.groups["green"][0]]
    for host in env.app_hosts:
        if host not in keep:
            env.haproxy(f"set server {env.color(host)}/{host} state maint")
    return [host for host in env.containers if host not in env.app_hosts or host in keep]


def verdicts() -> list[tuple[str, str, str]]:
    """Issue 12's targets against the measured rows: (row, target, verdict)."""
    def wall(connection, hosts, method):
        return next(row[5] for row in ROWS if row[:2] == (connection, hosts) and row[3] == method)

    out = []

    def check(name: str, value: float, limit: float, target: str) -> None:
        verdict = "met" if value <= limit else f"missed by {value - limit:.1f} s"
        out.append((name, target, f"{value:.1f} s: {verdict}"))

    for connection in dict.fromkeys(row[0] for row in ROWS):
        for hosts in (2, 6):
            if not any(row[:2] == (connection, hosts) for row in ROWS):
                continue
            at = f"{connection}, {hosts} app hosts"
            check(f"rollback, {at}", wall(connection, hosts, "pipeline switch back"), 3, "<= 3 s")
            check(f"status, {at}", wall(connection, hosts, "pipeline status"), 2, "<= 2 s")
            check(f"refusal, {at}", wall(connection, hosts, "pipeline refusal"), 3, "<= 3 s")
            check(f"noop, {at}", wall(connection, hosts, "pipeline noop"), 3, "<= 3 s")
            if any(row[:2] == (connection, hosts) and row[3] == "canary less its windows" for row in ROWS):
                check(f"canary less windows, {at}", wall(connection, hosts, "canary less its windows"),
                      1.3 * wall(connection, hosts, "pipeline blue-green"), "<= 1.3 x blue-green")
        if any(row[:2] == (connection, 2) for row in ROWS):
            two = wall(connection, 2, "pipeline blue-green")
            check(f"blue-green, {connection}, 2 app hosts", two, 10, "<= 10 s")
            if any(row[:2] == (connection, 6) for row in ROWS):
                check(f"blue-green, {connection}, 6 app hosts", wall(connection, 6, "pipeline blue-green"), 1.3 * two,
                      "<= 1.3 x 2 hosts")
    failed = sum(row[8] for row in ROWS if row[3].startswith("pipeline"))
    out.append(("failed requests, every pipeline row", "0", f"{failed}: {'met' if failed == 0 else 'missed'}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the environment up")
    parser.add_argument("--connections", default="docker,ssh", help="docker, ssh or both (docker,ssh)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per play for the per-task cost")
    parser.add_argument("--runs", type=int, default=3, help="runs of each play for the per-task cost")
    args = parser.parse_args()
    connections = args.connections.split(",")
    unknown = [c for c in connections if c not in CONNECTIONS]
    if unknown:
        parser.error(f"--connections: unknown {', '.join(unknown)}; known: {', '.join(CONNECTIONS)}")
    per_task: dict[str, float] = {}
    with bench_environment(SETTINGS, keep=args.keep) as env:
        work = env.inventory.parent
        key = deploy_key(env, work)
        with Load(f"http://{env.address('lb1')}/version", rate=RATE, max_seconds=5400) as load:
            everyone = list(env.containers)
            for connection in connections:
                run_all(load, reached(env, work, connection, everyone, key), connection, 6)
            few = two_hosts(env)
            for connection in connections:
                run_all(load, reached(env, work, connection, few, key), connection, 2)
        for connection in connections:
            small = reached(env, work, connection, few, key)
            per_task[connection] = bench_per_task(small.inventory, "command", args.tasks, args.runs,
                                                  dict(os.environ), limit=env.groups["blue"][0])[0]
    print(f"\nThe control plane under {RATE} requests/s of GET /version through HAProxy")
    header = ("connection", "app hosts", "operation", "method", "outcome", "wall s", "switch s", "requests", "failed")
    print(f"{header[0]:10} {header[1]:>9}  {header[2]:22} {header[3]:24} {header[4]:8} {header[5]:>7} {header[6]:>8} "
          f"{header[7]:>8} {header[8]:>6}")
    for connection, hosts, label, method, outcome, wall, switch, requests, failed in ROWS:
        switch_text = f"{switch:.1f}" if switch is not None else "-"
        print(f"{connection:10} {hosts:>9}  {label:22} {method:24} {outcome:8} {wall:7.1f} {switch_text:>8} "
              f"{requests:8d} {failed:6d}")
    print(f"\nOne more task's cost, p50 of plays of 1 and {args.tasks} small command tasks on one app host "
          f"({args.runs} runs each)")
    for connection, ms in per_task.items():
        print(f"{connection:10} {ms:6.0f} ms per task")
    print("\nIssue 12's targets")
    for name, target, verdict in verdicts():
        print(f"{name:44} {target:22} {verdict}")


if __name__ == "__main__":
    main()
