#!/usr/bin/env python3
"""Where one pipeline run's time goes, task by task. Prints a table;
asserts nothing.

    .venv/bin/python bench/profile.py [--env <molecule ephemeral folder>] [--root <checkout>] [--top 25] \\
        <playbook> [-e ...]

Runs the playbook once on an environment a molecule scenario made (the
newest pipeline or bench one by default), with Ansible's
ansible.posix.profile_tasks callback, and adds up each task's time over its
hosts and loop items: the task, how many times it ran, its total seconds
and its share of the run's wall time, the costliest first. --root runs
another checkout's playbooks (a baseline's worktree) on the same hosts.
--forget HOST:RELEASE removes a release a host does not run first, so that
the run installs it afresh. A steady load of GET /version through the load
balancer (20 a second, only to the test containers, bounded in time) gives
a canary its requests to be judged on.

    .venv/bin/python bench/profile.py deploy.yml -e release=v1.1.0 -e deploy_strategy=canary
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import Load  # noqa: E402
from tests.support.pipeline import CANARY_TEST_SETTINGS, Environment, bench_ephemeral, bench_settings  # noqa: E402

# profile_tasks' recap: "<role> : <task name> ---- 1.23s"
LINE = re.compile(r"^(?P<task>.+?) -{3,} (?P<seconds>\d+\.\d+)s$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, help="a molecule ephemeral folder (inventory, artifacts)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose playbooks run")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--forget", action="append", default=[], metavar="HOST:RELEASE")
    parser.add_argument("playbook")
    args, extra = parser.parse_known_args()
    bench_settings()
    work = args.env or bench_ephemeral("pipeline", "bench")
    env = Environment(work / "inventory", work / "artifacts", CANARY_TEST_SETTINGS)
    os.environ.update({"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "PROFILE_TASKS_SORT_ORDER": "none",
                       "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all", "ANSIBLE_STRATEGY": "linear"})
    for item in args.forget:
        env.forget(*item.split(":"))
    with Load(f"http://{env.address(env.groups['lb'][0])}/version", rate=20, max_seconds=900) as load:
        time.sleep(1)
        start = time.monotonic()
        run = env.playbook(args.playbook, *extra, root=args.root.resolve())
        wall = time.monotonic() - start
    failed = len(Load.failed(load.between(start, start + wall)))

    recap = run.stdout[run.stdout.rfind("=" * 20):]
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for line in recap.splitlines():
        found = LINE.match(line.strip())
        if found:
            totals[found["task"].strip()] += float(found["seconds"])
            counts[found["task"].strip()] += 1
    print(f"{args.playbook} {' '.join(extra)} ({args.root.resolve().name}): rc {run.returncode}, wall {wall:.1f} s, "
          f"{sum(totals.values()):.1f} s in {sum(counts.values())} task runs, {failed} failed requests")
    print(f"\n{'task':78} {'runs':>4} {'seconds':>8} {'share':>6}")
    for task, seconds in sorted(totals.items(), key=lambda item: -item[1])[:args.top]:
        print(f"{task[:78]:78} {counts[task]:4d} {seconds:8.2f} {seconds / wall:6.1%}")
    rest = sorted(totals.values(), reverse=True)[args.top:]
    if rest:
        print(f"{'(the other ' + str(len(rest)) + ' tasks)':78} {'':>4} {sum(rest):8.2f} {sum(rest) / wall:6.1%}")
    print(f"{'(outside any task: start-up, inventory, vault, callbacks)':78} {'':>4} "
          f"{wall - sum(totals.values()):8.2f} {(wall - sum(totals.values())) / wall:6.1%}")
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-2000:], sep="\n")


if __name__ == "__main__":
    main()
