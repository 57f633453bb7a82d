"""An environment of phoenix containers made by a molecule scenario, driven
through the real playbooks: for the pipeline story and bench/pipeline.py.

Environment(inventory_dir, artifacts_dir) reads the hosts' containers from
the inventory; playbook() runs ansible-playbook on it, and the rest reads
what the hosts say, with docker exec.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import resource
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

STATE_DATABASE = "phoenix"
# Short canary windows and small minimums for a test's or a bench's modest
# traffic (the pipeline story, bench/profile.py), and a shorter wait for a
# host that cannot pass its health check (the sample app starts in seconds).
CANARY_TEST_SETTINGS = ["-e", "deploy_canary_window=6", "-e", "deploy_canary_min_requests=5",
                        "-e", '{"deploy_canary_steps": [10, 25, 50]}', "-e", "deploy_health_deadline=30"]


class Environment:
    def __init__(self, inventory: Path, artifacts: Path, settings: list[str] | None = None,
                 containers: dict[str, str] | None = None):
        """containers: each host's container, where the inventory reaches
        the hosts by another way than docker exec (their ansible_host)."""
        self.inventory, self.artifacts = Path(inventory), Path(artifacts)
        self.settings = ["-e", f"deploy_artifact_dir={self.artifacts}", *(settings or [])]
        out = subprocess.run(["ansible-inventory", "-i", str(self.inventory), "--list"],
                             capture_output=True, text=True, check=True)
        listing = json.loads(out.stdout)
        self.containers = {host: (containers or {}).get(host, v["ansible_host"])
                           for host, v in listing["_meta"]["hostvars"].items()}
        self.groups = {name: group.get("hosts", []) for name, group in listing.items() if name != "_meta"}

    @property
    def app_hosts(self) -> list[str]:
        return self.groups.get("blue", []) + self.groups.get("green", [])

    def playbook(self, name: str, *args: str, env: dict | None = None, timeout: int = 900,
                 root: Path = ROOT) -> subprocess.CompletedProcess:
        """ansible-playbook playbooks/<name> on this inventory; env adds
        variables, or removes those given as None. root: the checkout whose
        playbooks and collection run (another one's, for a baseline)."""
        command = ["ansible-playbook", "-i", str(self.inventory), str(root / "playbooks" / name), *self.settings, *args]
        extra = {} if root == ROOT else {"ANSIBLE_COLLECTIONS_PATH": str(root)}
        environment = {key: value for key, value in {**os.environ, **extra, **(env or {})}.items() if value is not None}
        return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout)

    def popen(self, name: str, *args: str) -> subprocess.Popen:
        command = ["ansible-playbook", "-i", str(self.inventory), str(ROOT / "playbooks" / name), *self.settings, *args]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def in_host(self, host: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.containers[host], *command], capture_output=True, text=True, check=check)

    def address(self, host: str) -> str:
        out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                              self.containers[host]], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def state(self, query: str) -> list[str]:
        """Rows of a query on the environment's state database, one per line."""
        return self.in_host(self.groups["db"][0], "runuser", "-u", "postgres", "--", "psql", "-d", STATE_DATABASE,
                            "-Atc", query).stdout.splitlines()

    def ledger(self) -> list[dict]:
        return [json.loads(line) for line in self.state("SELECT entry FROM phoenix_ledger ORDER BY id")]

    def lock_free(self) -> bool:
        return self.state("SELECT count(*) FROM phoenix_lock") == ["0"]

    def live(self) -> str:
        return self.in_host(self.groups["lb"][0], "cat", "/etc/haproxy/live-color.map").stdout.split()[-1]

    def running(self) -> dict[str, str]:
        """The live color and each app host's release ('' for a host that
        does not answer)."""
        state = {"live": self.live()}
        for host in self.app_hosts:
            state[host] = Path(self.in_host(host, "readlink", "/srv/shop/current", check=False).stdout.strip()).name
        return state

    def color(self, host: str) -> str:
        """The color (and HAProxy backend) an app host belongs to."""
        return "blue" if host in self.groups.get("blue", []) else "green"

    def wait_settled(self, timeout: float = 120, polls: int = 3) -> None:
        """Wait until every server of the live color that is in service is
        UP with its last health check passed, `polls` times in a row a
        second apart: one answer of 200 is an instant, and after a lost
        host comes back its peers' checks may still be timing out."""
        deadline, settled = time.monotonic() + timeout, 0
        while settled < polls:
            live = self.live()
            serving = [(name, status, check) for (backend, name), (status, check) in self.servers().items()
                       if backend == live and not status.startswith(("MAINT", "DRAIN"))]
            ok = bool(serving) and all(status == "UP" and check.endswith("L7OK") for _, status, check in serving)
            settled = settled + 1 if ok else 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {live} servers did not settle UP within {timeout} s: {serving}")
            time.sleep(1)

    def servers(self) -> dict[tuple[str, str], tuple[str, str]]:
        """HAProxy's servers, (backend, server): (status, last check), from
        `show stat` (status: UP, DOWN, MAINT, ...; check: L7OK, L7TOUT, ...,
        with `* ` in front while a check runs)."""
        rows = csv.DictReader(io.StringIO(self.haproxy("show stat").removeprefix("# ")))
        return {(r["pxname"], r["svname"]): (r["status"], r["check_status"]) for r in rows
                if r["svname"] not in ("FRONTEND", "BACKEND")}

    def server_status(self, host: str) -> str:
        """HAProxy's status of an app host's server (UP, DOWN, MAINT, ...)."""
        color = self.color(host)
        if (color, host) not in (servers := self.servers()):
            raise KeyError(f"HAProxy has no server {color}/{host}")
        return servers[color, host][0]

    def docker(self, action: str, host: str, tries: int = 5) -> None:
        """`docker <action>` (kill, start, pause, unpause) on a host's
        container. A pause can fail at random with "unable to freeze" when
        the container's processes are busy (moby/moby#48205): a pause or an
        unpause is tried again, a second apart, up to `tries` times."""
        for attempt in range(1, tries + 1):
            run = subprocess.run(["docker", action, self.containers[host]], capture_output=True, text=True)
            if run.returncode == 0 or action not in ("pause", "unpause") or attempt == tries:
                break
            time.sleep(1)
        if run.returncode != 0:
            raise subprocess.CalledProcessError(run.returncode, run.args, run.stdout, run.stderr)

    def forget(self, host: str, release: str) -> None:
        """Remove a release a host does not run, so that its next deploy
        installs it from the artifact, virtualenv and all."""
        self.in_host(host, "sh", "-c",
                     f"[ \"$(basename $(readlink /srv/shop/current))\" = {release} ] || rm -rf /srv/shop/releases/{release}")

    OLD_HOST_MARK = "/root/phoenix-old-host"

    def mark_old(self, host: str) -> None:
        """Leave a file on `host` that only the host as it is now holds."""
        self.in_host(host, "touch", self.OLD_HOST_MARK)

    def is_new(self, host: str) -> bool:
        """Whether `host` was rebuilt from nothing since mark_old: a new host
        has no mark."""
        return self.in_host(host, "sh", "-c", f"test -e {self.OLD_HOST_MARK} || echo new", check=False).stdout.strip() == "new"

    def answers(self, host: str) -> bool:
        return self.in_host(host, "true", check=False).returncode == 0

    def haproxy(self, line: str) -> str:
        """One command to HAProxy's admin socket."""
        return self.in_host(self.groups["lb"][0], "sh", "-c", f"echo '{line}' | socat stdio unix-connect:/run/haproxy/admin.sock").stdout


def wait_serving(url: str, timeout: float = 60) -> None:
    """Wait until `url` answers 200 (HAProxy needs its rise checks to call a
    server UP once the first release created the schema)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.5)


@contextlib.contextmanager
def bench_environment(settings: list[str] | None = None, keep: bool = False) -> Iterator[Environment]:
    """The molecule/bench environment (bench/: not part of the suite), made
    anew and converged, with v1.0.0 deployed and served; destroyed after,
    unless `keep`."""
    bench_settings()
    bench_molecule("destroy")
    try:
        bench_molecule("create")
        bench_molecule("converge")
        work = bench_ephemeral()
        env = Environment(work / "inventory", work / "artifacts", settings)
        first = env.playbook("deploy.yml", "-e", "release=v1.0.0")
        if first.returncode != 0:
            raise SystemExit(first.stdout[-3000:])
        wait_serving(f"http://{env.address('lb1')}/healthz")
        yield env
    finally:
        if not keep:
            bench_molecule("destroy")


def bench_molecule(*args: str) -> None:
    """molecule on the molecule/bench scenario (bench/: not part of the suite)."""
    subprocess.run([str(ROOT / "scripts" / "molecule"), ".", *args, "-s", "bench"], check=True,
                   stdout=subprocess.DEVNULL if "destroy" in args else None)


def bench_ephemeral(*scenarios: str) -> Path:
    """The newest ephemeral folder (inventory, artifacts) of the named
    molecule scenarios; the bench scenario's by default."""
    found = [p for p in (Path.home() / ".ansible" / "tmp").glob("molecule.*") if p.name.split(".")[-1] in (scenarios or ("bench",))]
    if not found:
        raise SystemExit(f"no {' or '.join(scenarios or ('bench',))} scenario is up: scripts/molecule . converge -s <scenario>")
    return max(found, key=lambda p: p.stat().st_mtime)


def bench_settings() -> None:
    """The environment a bench runs the checkout's tooling in."""
    os.environ["PHOENIX_ROOT"] = str(ROOT)
    os.environ["PATH"] = f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    os.environ["ANSIBLE_VAULT_IDENTITY_LIST"] = f"dev@{ROOT / 'inventories' / 'dev.vault-password'}"


def bench_timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and controller CPU seconds (user + system of the command
    and its children) of one run of `command`; stops the bench with its
    output if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(run.stdout[-3000:] + run.stderr[-2000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


SMALL_TASK_MODULES = {
    "command": "command: /bin/true",
    "stat": "stat:\n        path: /etc/hostname",
    "file": "file:\n        path: /tmp/overhead\n        state: touch\n        modification_time: preserve\n"
            "        access_time: preserve",
}


def bench_small_tasks(inventory: Path, module: str, count: int, env: dict, limit: str = "all") -> tuple[float, float]:
    """Wall seconds and controller CPU seconds of one play of `count` small
    tasks of `module` (SMALL_TASK_MODULES), each its own task, on the
    inventory's `limit` hosts: what the tasks cost beyond their work."""
    play = inventory.parent / f"small-{module}-{count}.yml"
    tasks = "".join(f"    - name: Task {number}\n      ansible.builtin.{SMALL_TASK_MODULES[module]}\n"
                    for number in range(count))
    play.write_text(f"---\n- name: Small tasks\n  hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
    return bench_timed(["ansible-playbook", "-i", str(inventory), "--limit", limit, str(play)], env)


def bench_per_task(inventory: Path, module: str, count: int, runs: int, env: dict,
                   limit: str = "all") -> tuple[float, float, float, float]:
    """The cost of one more task: (ms per task, p50 wall s of one task, p50
    wall s of `count` tasks, p50 controller CPU s of `count` tasks), over
    `runs` runs of each play; ms per task = (p50 of `count` - p50 of one) /
    (count - 1)."""
    one = [bench_small_tasks(inventory, module, 1, env, limit) for _ in range(runs)]
    many = [bench_small_tasks(inventory, module, count, env, limit) for _ in range(runs)]
    one_wall = statistics.median(wall for wall, _ in one)
    many_wall = statistics.median(wall for wall, _ in many)
    return ((many_wall - one_wall) / (count - 1) * 1000, one_wall, many_wall,
            statistics.median(cpu for _, cpu in many))
