#!/usr/bin/env python3
"""Control-plane benchmark: what the pipeline's own operations cost, this
checkout against a baseline commit, on the same hosts in one run. Prints a
table; asserts nothing.

    .venv/bin/python bench/control.py --baseline <ref> [--runs 3] [--env <molecule ephemeral folder>]

Runs on an environment a molecule scenario made (its inventory and
artifacts): the pipeline scenario's (`scripts/molecule . converge -s
pipeline`, then its first release) or the bench scenario's (--env names its
ephemeral folder; by default the newest pipeline or bench one). The baseline
is checked out in a git worktree beside the checkout and removed after.

Each round runs every operation with the baseline's playbooks, then with
this checkout's, so that both see the same hosts and the same load:

- status;
- a deploy refused for a tag with no artifact;
- a deploy of the live release (a noop plan);
- a rollback that is one switch back to the warm color, then the switch
  forward again (rollback.yml -e release=<the newer>);
- a blue-green deploy of a release installed afresh on the idle color.

A steady load of GET /version through the load balancer (20 a second, only
to the test containers, bounded in time) counts failed requests per
operation. The table gives the median wall time of each operation over the
rounds, and the failed requests out of the total.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import Load  # noqa: E402
from tests.support.pipeline import Environment, bench_ephemeral, bench_settings, wait_serving  # noqa: E402

RATE = 20
RELEASES = ("v1.1.0", "v1.2.0")  # each blue-green ships the one not live, afresh
SAMPLES: dict[tuple[str, str], list[float]] = {}
FAILED: dict[tuple[str, str], list[int]] = {}


class Checkout:
    """The playbooks of one checkout, run on the environment."""

    def __init__(self, label: str, root: Path, env: Environment):
        self.label, self.root, self.env = label, root, env

    def run(self, playbook: str, *args: str) -> subprocess.CompletedProcess:
        return self.env.playbook(playbook, *args, root=self.root)


def measure(load: Load, checkout: Checkout, operation: str, playbook: str, *args: str, ok: bool = True) -> None:
    start = time.monotonic()
    run = checkout.run(playbook, *args)
    end = time.monotonic()
    if (run.returncode == 0) != ok:
        print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
        raise SystemExit(f"bench/control.py: {checkout.label}: {operation}: rc {run.returncode}")
    SAMPLES.setdefault((operation, checkout.label), []).append(end - start)
    samples = load.between(start, end)
    counts = FAILED.setdefault((operation, checkout.label), [0, 0])
    counts[0] += len(Load.failed(samples))
    counts[1] += len(samples)


def round_of(load: Load, checkout: Checkout, env: Environment) -> None:
    live = env.running()
    live_release = live[env.groups[live["live"]][0]]
    measure(load, checkout, "status", "status.yml")
    measure(load, checkout, "refusal (no artifact)", "deploy.yml", "-e", "release=v9.9.9", ok=False)
    measure(load, checkout, "noop (the live release)", "deploy.yml", "-e", f"release={live_release}")
    fresh = next(release for release in RELEASES if release != live_release)
    idle = "green" if live["live"] == "blue" else "blue"
    for host in env.groups[idle]:
        env.forget(host, fresh)
    measure(load, checkout, "blue-green, fresh install", "deploy.yml", "-e", f"release={fresh}", "-e", "deploy_strategy=bluegreen")
    measure(load, checkout, "rollback (switch back)", "rollback.yml", "-e", f"release={live_release}")
    measure(load, checkout, "switch forward", "rollback.yml", "-e", f"release={fresh}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with, e.g. main or 3c545fa")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--env", type=Path, help="a molecule scenario's ephemeral folder")
    args = parser.parse_args()
    bench_settings()
    ephemeral = args.env or bench_ephemeral("pipeline", "bench")
    os.environ["MOLECULE_EPHEMERAL_DIRECTORY"] = str(ephemeral)
    env = Environment(ephemeral / "inventory", ephemeral / "artifacts")
    worktree = ROOT.parent / f".phoenix-baseline-{os.getpid()}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.baseline],
                   check=True, capture_output=True)
    try:
        checkouts = [Checkout(f"baseline {args.baseline}", worktree, env), Checkout("this checkout", ROOT, env)]
        url = f"http://{env.address(env.groups['lb'][0])}/version"
        wait_serving(url)
        with Load(url, rate=RATE, max_seconds=args.runs * 900) as load:
            for _ in range(args.runs):
                for checkout in checkouts:
                    round_of(load, checkout, env)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    print(f"\nThe pipeline's own operations, median wall seconds over {args.runs} rounds "
          f"(failed requests of the {RATE}/s load meanwhile)")
    labels = [c.label for c in checkouts]
    print(f"{'operation':28}" + "".join(f"{label:>28}" for label in labels))
    for operation in dict.fromkeys(op for op, _ in SAMPLES):
        cells = []
        for label in labels:
            times, (failed, total) = SAMPLES[(operation, label)], FAILED[(operation, label)]
            cells.append(f"{statistics.median(times):8.1f} s ({failed}/{total} failed)")
        print(f"{operation:28}" + "".join(f"{cell:>28}" for cell in cells))


if __name__ == "__main__":
    main()
