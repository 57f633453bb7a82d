#!/usr/bin/env python3
"""The release pipeline's story, on the scenario's seven hosts, under a steady
load through the load balancer. Every step runs the real playbooks; the
load's failed requests are counted per step.

Run by story.yml (molecule/pipeline and molecule/hosts each run a part of
it), with molecule's environment (inventory, vault).
Prints a table of the steps; exits non-zero at the first broken promise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(os.environ["PHOENIX_ROOT"])
sys.path.insert(0, str(ROOT))

from tests.support.load import TIMEOUT, Load  # noqa: E402
from tests.support.pipeline import CANARY_TEST_SETTINGS, Environment, wait_serving  # noqa: E402

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = EPHEMERAL / "inventory"
ARTIFACTS = EPHEMERAL / "artifacts"
RATE = 20  # requests a second through the load balancer
WRITE_RATE = 5  # new items a second, while the database host is rebuilt
LOAD_SECONDS = 4800  # the most any load runs: longer than the whole story, which checks every step had requests
ROWS: list[tuple[str, str, float, int, int]] = []


# The story runs the pipeline as its users do, on Ansible's own linear
# strategy, whichever strategy molecule's plays ran on (scripts/molecule).
os.environ["ANSIBLE_STRATEGY"] = "linear"
ENV = Environment(INVENTORY, ARTIFACTS, CANARY_TEST_SETTINGS)
playbook, ledger, running, lock_free = ENV.playbook, ENV.ledger, ENV.running, ENV.lock_free


def expect(condition: bool, message: str, run: subprocess.CompletedProcess | None = None) -> None:
    if not condition:
        if run is not None:
            print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
        raise SystemExit(f"story: {message}")


def step(load: Load, name: str, playbook_name: str, *args: str, ok: bool = True, says: str = "",
         allowed_failures: float = 0.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a playbook as one step of the story; check its outcome and the
    load's failed requests meanwhile (at most allowed_failures of them, as a
    share of the step's requests)."""
    start = time.monotonic()
    run = playbook(playbook_name, *args, env=env)
    end = time.monotonic()
    samples = load.between(start, end)
    failed = Load.failed(samples)
    ROWS.append((name, "ok" if run.returncode == 0 else "refused/failed", end - start, len(samples), len(failed)))
    expect(samples or end - start < 2, f"{name}: no request was sent meanwhile (has the load stopped?)")
    expect((run.returncode == 0) == ok, f"{name}: expected {'success' if ok else 'failure'}, rc {run.returncode}", run)
    expect(says in run.stdout + run.stderr, f"{name}: output does not say {says!r}", run)
    expect(len(failed) <= allowed_failures * len(samples),
           f"{name}: {len(failed)} of {len(samples)} requests failed (allowed {allowed_failures:.0%}): "
           f"{sorted({(s.status, s.body[:80]) for s in failed})[:5]}")
    expect(lock_free(), f"{name}: the deploy lock is still held")
    return run


def refusals(load: Load, url: str) -> None:
    """Bad input: a clear error, no host changed, the lock free, the refusal in the ledger."""
    before = running()
    wrapper = subprocess.run([str(ROOT / "deploy"), "nowhere", "v1.2.0"], capture_output=True, text=True)
    expect(wrapper.returncode == 2 and "unknown environment 'nowhere'" in wrapper.stderr, "unknown environment", wrapper)

    cases = [
        ("a tag with no artifact", ["-e", "release=v9.9.9"], {}, "no artifact"),
        ("an unknown strategy", ["-e", "release=v1.2.0", "-e", "deploy_strategy=rolling"], {}, "deploy_strategy must be one of: canary, bluegreen, got: rolling"),
        ("no vault password", ["-e", "release=v1.2.0"], {"ANSIBLE_VAULT_IDENTITY_LIST": None},
         "cannot be opened"),
    ]
    with tempfile.TemporaryDirectory() as tampered:
        for artifact in ARTIFACTS.iterdir():
            (Path(tampered) / artifact.name).write_bytes(artifact.read_bytes())
        with open(Path(tampered) / "shop-v1.2.0.tar.gz", "ab") as handle:
            handle.write(b"tampered")
        cases.append(("a checksum mismatch", ["-e", "release=v1.2.0", "-e", f"deploy_artifact_dir={tampered}"], {},
                      "its checksum file says otherwise"))
        for name, args, env, says in cases:
            step(load, f"refuse {name}", "deploy.yml", *args, ok=False, says=says, env=env)
            expect(ledger()[-1]["outcome"] == "refused" and says in ledger()[-1]["reason"], f"{name}: not in the ledger")

    step(load, "refuse a rebuild of a host not in the inventory", "rebuild.yml", "-e", "rebuild_host=ghost1", ok=False,
         says="rebuild_host 'ghost1' is not a host of the dev inventory")
    expect(ledger()[-1]["outcome"] == "refused" and ledger()[-1]["action"] == "rebuild", "the refused rebuild is not in the ledger")

    ENV.docker("pause", "green2")
    try:
        step(load, "refuse an unreachable host", "deploy.yml", "-e", "release=v1.2.0", ok=False, says="cannot reach green2")
    finally:
        ENV.docker("unpause", "green2")
    expect(ledger()[-1]["outcome"] == "refused", "unreachable host: not in the ledger")

    # Over SSH, as staging and production reach their hosts, a host that is
    # gone is unreachable to Ansible, where a docker exec fails or hangs:
    # green2 reached by SSH at a port of 127.0.0.1 where nothing listens.
    gone = EPHEMERAL / "green2-gone-over-ssh.yml"
    gone.write_text("all:\n  hosts:\n    green2:\n      ansible_connection: ssh\n"
                    "      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    step(load, "refuse a host SSH cannot reach", "deploy.yml", "-i", str(gone), "-e", "release=v1.2.0", ok=False,
         says="cannot reach green2")
    expect(ledger()[-1]["outcome"] == "refused", "a host SSH cannot reach: not in the ledger")
    status = playbook("status.yml", "-i", str(gone), env=ONE_LINE)
    expect(re.search(r"green2 [^\[\"]*\[out of service: not answering\]", status.stdout) is not None,
           "status does not show green2, which SSH cannot reach, as not answering", status)
    expect(running() == before, f"a refusal changed a host: {before} -> {running()}")


def concurrent(load: Load, url: str) -> None:
    """A second deploy, or a flags run, while one runs fails at once, naming
    the holder, and changes nothing."""
    first = ENV.popen("deploy.yml", "-e", "release=v1.2.0", "-e", "deploy_strategy=bluegreen", "-e", "deploy_operator=first")
    deadline = time.monotonic() + 120
    while lock_free():
        expect(time.monotonic() < deadline and first.poll() is None, "the first deploy never took the lock")
        time.sleep(0.2)
    start = time.monotonic()
    flags = ENV.popen("flags.yml", "-e", '{"app_flags": {"readonly": {"enabled": true}}}', "-e", "deploy_operator=flags")
    second = playbook("deploy.yml", "-e", "release=v1.2.0", "-e", "deploy_operator=second")
    refused_in = time.monotonic() - start
    flags_said = flags.communicate(timeout=300)[0]
    flags_refused_in = time.monotonic() - start
    still_held = first.poll() is None
    output = first.communicate(timeout=900)[0]
    ROWS.append(("second deploy while one runs", "refused", refused_in, 0, 0))
    ROWS.append(("flags while a deploy runs", "refused", flags_refused_in, 0, 0))
    expect(second.returncode != 0 and "held by first" in second.stdout + second.stderr, "the second deploy was not refused", second)
    expect(still_held, "the first deploy ended before the flags run was refused: the case proves nothing")
    expect(flags.returncode != 0 and "held by first" in flags_said, f"the flags run was not refused:\n{flags_said[-4000:]}")
    expect(post(url, {"name": "not shed"}) == 201, "the refused flags run turned readonly on")
    expect(first.returncode == 0, f"the first deploy failed:\n{output[-4000:]}")
    samples = [s for s in load.between(start - 1, time.monotonic())]
    expect(not Load.failed(samples), f"{len(Load.failed(samples))} requests failed during the concurrent deploys")


def post(url: str, document: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def canaries(load: Load, url: str) -> None:
    """A canary with its migration, HAProxy reloaded at each of its steps
    (which changes neither the canary's weight nor the live color); then a
    bad canary, judged and rolled back."""
    reloads = EPHEMERAL / "reloads"
    reloads.unlink(missing_ok=True)
    run = step(load, "canary v1.1.0, its migration, HAProxy reloaded at each step", "deploy.yml", "-e", "release=v1.1.0",
               "-e", "deploy_strategy=canary",
               "-e", json.dumps({"deploy_hooks": {"canary_step": f"{sys.executable} {__file__} hook-reload {reloads}"}}))
    expect(running()["blue1"] == running()["blue2"] == "v1.1.0", "v1.1.0 is not on blue", run)
    expect(ledger()[-1]["outcome"] == "succeeded" and [s["percent"] for s in ledger()[-1]["steps"]] == [10, 25, 50],
           "the canary's steps are not in the ledger")
    seen = [json.loads(line) for line in reloads.read_text().splitlines()]
    expect(len(seen) == 3 and all(r["before"] == r["after"] for r in seen),
           f"a reload mid-canary changed the canary's weight or the live color: {seen}")

    # One request in four to v1.1.1-bad fails; at most its traffic share may.
    run = step(load, "canary v1.1.1-bad", "deploy.yml", "-e", "release=v1.1.1-bad", "-e", "deploy_strategy=canary", ok=False,
               says="canary judged fail", allowed_failures=0.10)
    expect(running()["blue1"] == "v1.1.0", "the bad canary was not rolled back", run)
    expect(ledger()[-1]["bad"] is True and ledger()[-1]["release"] == "v1.1.1-bad", "v1.1.1-bad is not marked bad")
    verdicts = [s["verdict"] for s in ledger()[-1]["steps"]]
    expect(verdicts[-1] == "fail" and set(verdicts[:-1]) <= {"pass"},
           f"the bad canary was stepped on after a step judged it: {verdicts}")


def bluegreen_and_rollbacks(load: Load, url: str) -> None:
    step(load, "blue-green v1.2.0", "deploy.yml", "-e", "release=v1.2.0", "-e", "deploy_strategy=bluegreen")
    expect(running()["live"] == "green" and running()["green1"] == "v1.2.0", "green does not serve v1.2.0")
    step(load, "contract while blue runs v1.1.0", "migrate.yml", "-e", "release=v1.2.0", "-e", "migrate_phases=contract",
         ok=False, says="contract of migration 0003 refused")

    step(load, "rollback (switch back)", "rollback.yml", says="back to blue")
    expect(running()["live"] == "blue", "the rollback did not switch back to blue")
    step(load, "rollback (replay v1.0.0)", "rollback.yml", "-e", "deploy_strategy=bluegreen", says="v1.0.0 is live on green")
    expect(running()["green1"] == running()["green2"] == "v1.0.0", "v1.0.0 was not replayed on green")


def version(url: str) -> str:
    with urllib.request.urlopen(url.replace("/items", "/version"), timeout=5) as answer:
        return json.load(answer)["version"]


def phoenix(load: Load, url: str) -> None:
    """Hosts rebuilt from nothing, while writes add items the whole time: an
    app host of the live color with no failed request (after a rebuild of it
    that lost the new host stopped the line); the database host,
    losing no acknowledged write and no ledger entry; the load balancer while
    the live color is not haproxy_initial_color. Then the restore drill,
    which a corrupted file in the repository must fail."""
    with Load(url, rate=WRITE_RATE, max_seconds=LOAD_SECONDS, writes=True) as writes:
        phoenix_under_writes(load, writes, url)
    acknowledged = writes.acknowledged()
    lost = sorted(set(acknowledged) - set(items_in_database()))
    ROWS.append((f"  writes: {len(acknowledged)} acknowledged, lost", str(len(lost)), 0.0, len(writes.samples),
                 len(Load.failed(writes.samples))))
    expect(not lost, f"{len(lost)} acknowledged writes are gone: {lost[:10]}")


def items_in_database() -> list[int]:
    return [int(i) for i in ENV.in_host(ENV.groups["db"][0], "runuser", "-u", "postgres", "--", "psql", "-d", "shop",
                                        "-Atc", "SELECT id FROM items").stdout.split()]


def phoenix_under_writes(load: Load, writes: Load, url: str) -> None:
    before, entries = running(), ledger()
    expect(before["live"] == "green", f"the phoenix chapter wants green live, not the initial blue: {before}")
    time.sleep(2)

    if chosen("rebuild"):
        # A rebuild that loses its new host before the converge stops the
        # line like any run; the rebuild below brings the host back into line.
        fault(load, url, "rebuilt app host killed before its converge", "rebuild", "kill", "green2",
              "-e", "rebuild_host=green2", playbook_name="rebuild.yml", step_name="converge", serving=before["green1"])
    for host in ("green2", "db1", "lb1"):
        ENV.mark_old(host)
    start = time.monotonic()
    step(load, "rebuild green2 (app, live color)", "rebuild.yml", "-e", "rebuild_host=green2",
         says=f"green2 (app) was rebuilt and runs {before['green1']}")
    expect(ENV.is_new("green2"), "green2 is the old host, not one rebuilt from nothing")
    expect(ledger()[-1].get("converged") == ["green2"],
           f"the rebuild of green2, which kept its address, converged {ledger()[-1].get('converged')}, not green2 alone")
    failed_writes = Load.failed(writes.between(start, time.monotonic()))
    expect(not failed_writes, f"{len(failed_writes)} writes failed while an app host was rebuilt")
    expect(running() == before, f"the app host's rebuild changed what runs: {before} -> {running()}")

    began = time.monotonic()
    step(load, "rebuild db1", "rebuild.yml", "-e", "rebuild_host=db1", says="db1 (db) was rebuilt", allowed_failures=1.0)
    expect(ENV.is_new("db1"), "db1 is the old host, not one rebuilt from nothing")
    expect(sorted(ledger()[-1].get("converged", [])) == ["backup1", "db1"],
           f"the rebuild of db1 converged {ledger()[-1].get('converged')}, not db1 and its pgBackRest peer")
    wait_serving(url.replace("/items", "/healthz"))
    acknowledged_before = writes.acknowledged(before=began)
    lost = sorted(set(acknowledged_before) - set(items_in_database()))
    ROWS.append(("  writes acknowledged before it began, lost", str(len(lost)), 0.0, len(acknowledged_before), 0))
    expect(len(acknowledged_before) > 0, "no write was acknowledged before the database rebuild began")
    expect(not lost, f"{len(lost)} writes acknowledged before the database rebuild are gone: {lost[:10]}")
    expect(running() == before, f"the database rebuild changed what runs: {before} -> {running()}")
    expect(ledger()[:len(entries)] == entries, "the database rebuild lost or changed ledger entries")
    status = playbook("status.yml")
    expect(f"#{entries[-1]['id']} " in status.stdout, "status does not show the ledger entries from before the rebuild", status)

    step(load, "rebuild lb1 (green live, blue the initial)", "rebuild.yml", "-e", "rebuild_host=lb1", says="lb1 (lb) was rebuilt",
         allowed_failures=1.0)
    expect(ENV.is_new("lb1"), "lb1 is the old host, not one rebuilt from nothing")
    wait_serving(url.replace("/items", "/healthz"))
    expect(running()["live"] == "green" and version(url) == before["green1"],
           f"the rebuilt load balancer serves {running()['live']} ({version(url)}), not green ({before['green1']})")

    step(load, "restore drill", "restore-drill.yml", says="restore drill passed")
    backup = ENV.groups["backup"][0]
    victim = ENV.in_host(backup, "sh", "-c", "find /var/lib/pgbackrest/backup -path '*pg_data*' -type f -printf '%s %p\\n' "
                                             "| sort -n | tail -n 1 | cut -d' ' -f2").stdout.strip()
    ENV.in_host(backup, "cp", "-p", victim, "/root/drill-original")
    ENV.in_host(backup, "sh", "-c", f"printf corrupted | dd of={victim} bs=1 seek=64 conv=notrunc status=none")
    try:
        step(load, "restore drill, a corrupted file in the repository", "restore-drill.yml", ok=False, says="holds corrupted files")
    finally:
        ENV.in_host(backup, "cp", "-p", "/root/drill-original", victim)
    expect(ledger()[-1]["action"] == "restore-drill" and ledger()[-1]["outcome"] == "failed", "the failed drill is not in the ledger")


# Faults: a host stopped at a named point of a run (deploy_hooks).
FAULTS: list[tuple[str, ...]] = []
CANARY = ["-e", "deploy_strategy=canary"]  # the dev inventory's default is bluegreen
FAULT_GRACE = 15.0  # seconds after a fault in which requests the lost host held may fail (HAProxy: fall 2 x 2 s, connect 5 s)
ONE_LINE = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}  # messages on one line each, to read them


def fault_hook(action: str, host: str) -> tuple[str, Path]:
    """A hook command that stops `host` (docker kill or pause) and writes
    down when, once however often the point is reached (`story.py
    hook-stop`)."""
    marker = EPHEMERAL / f"fault-{host}"
    marker.unlink(missing_ok=True)
    return f"{sys.executable} {__file__} hook-stop {action} {host} {marker}", marker


def hook_stop(action: str, host: str, marker: Path) -> None:
    """The fault cases' hook: the first time, write down when, then stop
    the host."""
    if marker.exists():
        return
    marker.write_text(f"{time.time()}")
    ENV.docker(action, host)


def bring_back(action: str, host: str) -> None:
    ENV.docker("start" if action == "kill" else "unpause", host)
    deadline = time.monotonic() + 120
    while not ENV.answers(host) or ENV.in_host(host, "systemctl", "is-system-running", "--wait", check=False).returncode > 1:
        expect(time.monotonic() < deadline, f"{host} did not come back")
        time.sleep(1)


def fault(load: Load, url: str, name: str, point: str, action: str, host: str, *args: str,
          step_name: str, serving: str, playbook_name: str = "deploy.yml", next_run: tuple[str, ...] = (),
          next_says: str = "every live host runs it already", unrestored: str = "") -> None:
    """Run a deploy (or playbook_name: a rollback, flags) whose hook stops
    `host` at `point`; then the line must be
    stopped: the run failed naming the host and the step, the lock free, the
    failure in the ledger, a lost app host out of traffic and shown so by
    status, the environment serving `serving` (a release that passed its
    health check), and no request failed but those the lost host held.
    Then the host comes back, still out of traffic. Without the database
    host the entry and the lock wait on the spool host: the next run
    records the one and releases the other: a deploy of `serving`, with
    next_run's arguments, that says next_says. `unrestored` names an app
    host that answers but could not be given its release back (without the
    database it fails its health check): it must be in maintenance, not
    left drained, until that next run brings it back into line."""
    kind = next(group for group in ("lb", "db", "app") if host in ENV.groups[group])
    hook, marker = fault_hook(action, host)
    ran = running().get(host, "")
    start = time.monotonic()
    run = playbook(playbook_name, *args, "-e", json.dumps({"deploy_hooks": {point: hook}}), env=ONE_LINE)
    ended = time.monotonic()
    expect(marker.exists(), f"{name}: the hook at {point} never ran", run)
    at = float(marker.read_text()) - time.time() + time.monotonic()
    status = playbook("status.yml", env=ONE_LINE) if kind == "app" else None
    served = version(url) if kind == "app" else ""
    bring_back(action, host)
    wait_serving(url.replace("/items", "/healthz"), timeout=120)
    ENV.wait_settled()
    resumed = time.monotonic()
    served = served or version(url)
    if unrestored:
        expect(ENV.server_status(unrestored).startswith("MAINT"),
               f"{name}: {unrestored}, which could not be given {serving} back, is {ENV.server_status(unrestored)}, not in maintenance")
    lock = "free" if lock_free() else "held"
    if kind == "db":
        expect(lock == "held", f"{name}: the lock on the lost database host was released by nobody")
        spooled = ENV.in_host(ENV.groups["backup"][0], "ls", "/var/lib/phoenix/spool", check=False).stdout.split()
        expect(len(spooled) == 1, f"{name}: the entry is not waiting on the spool host: {spooled}")
        step(load, "the next run records it and frees the lock", "deploy.yml", "-e", f"release={serving}", *next_run,
             says=next_says)
        entry = ledger()[-2]
        lock = "free after the next run"
    else:
        entry = ledger()[-1]
    after = playbook("status.yml", env=ONE_LINE)

    samples = load.between(start, time.monotonic())
    failed = Load.failed(samples)
    window_end = (resumed if kind in ("lb", "db") else at) + FAULT_GRACE
    outside = [s for s in failed if not at - TIMEOUT <= s.start <= window_end]
    said = next((line for line in (status.stdout if status else "").splitlines() if f"{host} " in line and "out of service" in line), "")
    said = said[said.index(host):said.index("]", said.index(host)) + 1] if said else ""
    if kind != "app":
        said = next((line.strip().strip('",') for line in after.stdout.splitlines() if ": live color " in line), "")
        said = said[said.index("live color"):said.index(",", said.index("live color"))] if said else ""
    run_action = playbook_name.removesuffix(".yml")
    FAULTS.append((point if run_action in ("deploy", point) else f"{run_action}:{point}", kind, action, "failed" if run.returncode else "ok", lock,
                   f"#{entry['id']} {entry['outcome']} at {entry.get('step')}: {', '.join(entry.get('silent_hosts', []))}",
                   f"{len(failed)}/{len(samples)}", said))
    ROWS.append((name, "ok" if run.returncode == 0 else "refused/failed", ended - start, len(samples), len(failed)))

    said_by_run = run.stdout + run.stderr  # a failure goes to stderr where display_failed_stderr is set (molecule)
    expect(run.returncode != 0 and f"at {step_name}" in said_by_run and f"not answering: {host}" in said_by_run,
           f"{name}: the run did not stop the line at {step_name}, naming {host}", run)
    expect(lock_free(), f"{name}: the deploy lock is still held")
    expect(entry["outcome"] == "failed" and entry["action"] == run_action and entry["step"] == step_name
           and host in entry["silent_hosts"] and not entry["bad"],
           f"{name}: the ledger does not name the {run_action}, the lost host and the step: {entry}")
    expect(served == serving, f"{name}: the environment serves {served}, not {serving}")
    expect(not outside, f"{name}: {len(outside)} requests failed outside the lost host's window: "
                        f"{sorted({(s.status, s.body[:60]) for s in outside})[:5]}")
    if kind == "app":
        expect(said.startswith(f"{host} {ran}") and said.endswith("[out of service: not answering]"),
               f"{name}: status does not show {host} out of service on {ran} while it is gone", status)
        expect(ENV.server_status(host).startswith("MAINT"), f"{name}: {host} came back into traffic: {ENV.server_status(host)}")
        expect(f"{host} " in after.stdout and "[out of service: MAINT" in after.stdout,
               f"{name}: status does not show {host} out of service once back", after)


def chosen(point: str) -> bool:
    """Whether the fault case at `point` runs: all of them, unless
    STORY_FAULT_CASES names some (comma-separated points, e.g. canary_step;
    `rollback` for the rollback's switch, `migrate` for migrate.yml's
    migration, `canary_db` for the database lost mid-canary; `rebuild`, in
    the phoenix chapter), to see one case go red
    on its own while its fix is taken out."""
    wanted = os.environ.get("STORY_FAULT_CASES", "")
    return not wanted or point in wanted.split(",")


def faults(load: Load, url: str) -> None:
    """Stop the line. A host killed or hung at each point of a run (a
    rollback's switch, flags being set, migrate.yml's migration and a
    deploy's, canary step (the canary host, and the database host after
    the migration), batch host, idle color, a deploy's switch) leaves
    the lock free, the failure in the ledger naming the host and the step,
    the host out of traffic and the environment serving; the next deploy
    brings a host back into line."""
    expect(running()["live"] == "green" and running()["green1"] == "v1.1.0" and running()["blue1"] == "v1.0.0",
           f"the fault cases want v1.1.0 live on green, v1.0.0 on blue: {running()}")

    if chosen("rollback"):
        # blue still runs v1.0.0, the good release before v1.1.0: the
        # rollback is one switch, and the load balancer hangs before it.
        fault(load, url, "load balancer hung at a rollback's switch", "switch", "pause", "lb1",
              playbook_name="rollback.yml", step_name="switch", serving="v1.1.0")
        expect(running()["live"] == "green", "the rollback switched although the load balancer was lost")
    if chosen("flags"):
        fault(load, url, "idle app host killed while flags were set", "flags", "kill", "blue2",
              playbook_name="flags.yml", step_name="flags", serving="v1.1.0")

    if chosen("migrate"):
        fault(load, url, "database host killed in migrate.yml", "migration", "kill", "db1", "-e", "release=v1.1.0",
              playbook_name="migrate.yml", step_name="migration", serving="v1.1.0")
    if chosen("migration"):
        fault(load, url, "database host killed mid-migration", "migration", "kill", "db1", "-e", "release=v1.2.0", *CANARY,
              step_name="migration", serving="v1.1.0")
    if chosen("canary_db"):
        # After its migration: green1, the canary, cannot be given v1.1.0
        # back without the database, so it goes into maintenance; the next
        # run, a canary of v1.1.0, gives it v1.1.0 and puts it back.
        fault(load, url, "database host killed mid-canary, after the migration", "canary_step", "kill", "db1",
              "-e", "release=v1.2.0", *CANARY, step_name="canary", serving="v1.1.0",
              next_run=tuple(CANARY), next_says="v1.1.0 is live on green (canary)", unrestored="green1")
        expect(ENV.server_status("green1").startswith("UP") and running()["green1"] == "v1.1.0",
               f"the next run did not bring green1 back into line: {ENV.server_status('green1')}, {running()}")
    if chosen("canary_step"):
        fault(load, url, "canary host killed mid-canary", "canary_step", "kill", "green1", "-e", "release=v1.2.0", *CANARY,
              step_name="canary", serving="v1.1.0")
    if chosen("batch_host"):
        fault(load, url, "batch host hung, canary brought back", "batch_host", "pause", "green2", "-e", "release=v1.1.0",
              *CANARY, step_name="batch", serving="v1.1.0")
        expect(not ENV.server_status("green1").startswith("MAINT") and running()["green1"] == "v1.1.0",
               "the deploy after the fault did not bring green1 back into line")
    if chosen("idle_ship"):
        fault(load, url, "idle host killed while shipped", "idle_ship", "kill", "blue1", "-e", "release=v1.2.0",
              "-e", "deploy_strategy=bluegreen", step_name="idle", serving="v1.1.0")
    if chosen("switch"):
        fault(load, url, "load balancer hung at the switch", "switch", "pause", "lb1", "-e", "release=v1.2.0",
              "-e", "deploy_strategy=bluegreen", step_name="switch", serving="v1.1.0")
        expect(running()["live"] == "green", "the switch happened although the load balancer was lost")
        # That run brought green2 (lost mid-batch, in the color a switch would
        # leave) back into line with green before it reached the switch.
        mended = ledger()[-1].get("maintenance", [])
        expect("green2" not in mended and not ENV.server_status("green2").startswith("MAINT")
               and running()["green2"] == running()["green1"],
               f"the blue-green deploy did not bring green2 back into line with green: {running()}, maintenance {mended}")

    print(f"\n{'point':16} {'host':5} {'fault':6} {'run':7} {'lock':5} {'ledger entry':34} {'failed':>11}  status said")
    for row in FAULTS:
        print(f"{row[0]:16} {row[1]:5} {row[2]:6} {row[3]:7} {row[4]:5} {row[5]:34} {row[6]:>11}  {row[7]}")

    # A canary of v1.0.0 on green (the release before the chapter's), and
    # every host in line: in service, at its configured weight, on its
    # color's release.
    step(load, "the next deploy brings every host back into line", "deploy.yml", "-e", "release=v1.0.0", *CANARY)
    after = running()
    expect(after["live"] == "green" and after["green1"] == "v1.0.0", f"v1.0.0 is not live on green: {after}")
    out = [h for h in ENV.app_hosts if ENV.server_status(h).startswith("MAINT")]
    expect(not out, f"{', '.join(out)} still out of service after the next deploy")
    weights = {h: ENV.haproxy(f"get weight {ENV.color(h)}/{h}").split()[0] for h in ENV.app_hosts}
    expect(set(weights.values()) == {"1"}, f"a host kept a weight other than its configured 1: {weights}")
    for color in ("blue", "green"):
        releases = {after[h] for h in ENV.groups[color]}
        expect(len(releases) == 1, f"the {color} color runs more than one release: {after}")
    status = playbook("status.yml")
    expect("out of service" not in status.stdout, "status still shows a host out of service", status)


def hook_reload(record: Path) -> None:
    """The canary-step hook of the reload case: reload HAProxy and write down
    the canary's weight and the live color before and after."""
    canary, lb = os.environ["PHOENIX_HOOK_HOST"], ENV.groups["lb"][0]
    color = ENV.color(canary)

    def seen() -> dict:
        return {"weight": ENV.haproxy(f"get weight {color}/{canary}").strip(), "live": ENV.live(),
                "map": ENV.haproxy("show map /etc/haproxy/live-color.map").split()[-1]}

    before = seen()
    ENV.in_host(lb, "systemctl", "reload", "haproxy")
    time.sleep(1)
    with record.open("a") as handle:
        handle.write(json.dumps({"before": before, "after": seen()}) + "\n")


def contract(load: Load, url: str) -> None:
    concurrent(load, url)
    step(load, "v1.2.0 to the warm color too, no switch", "deploy.yml", "-e", "release=v1.2.0",
         "-e", "deploy_strategy=bluegreen", "-e", "deploy_switch=false", says="it is ready on the idle color")
    expect(running()["live"] == "blue" and running()["green1"] == "v1.2.0", "the warm color was not staged")
    step(load, "contract once no host needs the old schema", "migrate.yml", "-e", "release=v1.2.0",
         "-e", "migrate_phases=contract")
    step(load, "rollback below the contract point", "rollback.yml", "-e", "release=v1.1.0", ok=False,
         says="the schema was contracted for v1.2.0")


def flags_and_status(load: Load, url: str) -> None:
    step(load, "flag readonly on", "flags.yml", "-e", '{"app_flags": {"readonly": {"enabled": true}}}')
    expect(post(url, {"name": "shed"}) == 503, "a write was not shed with readonly on")
    step(load, "flag readonly off", "flags.yml")
    expect(post(url, {"name": "kept"}) == 201, "a write was refused with readonly off")
    status = step(load, "status", "status.yml", says="live color")
    expect("bad releases: v1.1.1-bad" in status.stdout and "schema contracted for: v1.2.0" in status.stdout,
           "status does not show the bad release and the contract point", status)


def green_live(load: Load, url: str) -> None:
    """The chapters on hosts want green live (not the initial blue) on
    v1.1.0, and blue warm on the release before it: after the first release
    (v1.0.0 everywhere, blue live), a blue-green deploy of v1.1.0 ships it to
    green, with its migration, and switches."""
    step(load, "blue-green v1.1.0 to green", "deploy.yml", "-e", "release=v1.1.0", "-e", "deploy_strategy=bluegreen")
    expect(running() == {"live": "green", "blue1": "v1.0.0", "blue2": "v1.0.0", "green1": "v1.1.0", "green2": "v1.1.0"},
           f"v1.1.0 is not live on green with v1.0.0 warm on blue: {running()}")


# The story in two parts, each on an environment of its own so that they run
# side by side: `story.py pipeline` (molecule/pipeline) ships, judges, rolls
# back, refuses, contracts and flags; `story.py hosts` (molecule/hosts)
# rebuilds hosts from nothing and loses them mid-run. Each starts from the
# first release. STORY_PHOENIX=0 leaves out the
# rebuilds and the restore drill (phoenix) and STORY_FAULTS=0 the fault
# cases (faults), for a quicker run while working on another chapter;
# STORY_FAULT_CASES (chosen) runs only some of the fault cases.
HOSTS = [*([phoenix] if os.environ.get("STORY_PHOENIX", "1") == "1" else []),
         *([faults] if os.environ.get("STORY_FAULTS", "1") == "1" else [])]
PARTS = {
    "pipeline": [refusals, canaries, bluegreen_and_rollbacks, contract, flags_and_status],
    "hosts": [green_live, *HOSTS],
}


def first_release() -> None:
    """site.yml put v1.0.0 on every app host, but the database has no schema
    yet, so no host is healthy. The first deploy finds the code in place,
    creates the schema and records the release (`story.py first-release`,
    before the switch checks and the load)."""
    run = playbook("deploy.yml", "-e", "release=v1.0.0")
    expect(run.returncode == 0 and "every live host runs it already" in run.stdout, "deploy v1.0.0", run)
    expect(ledger()[-1]["outcome"] == "succeeded" and ledger()[-1]["release"] == "v1.0.0", "v1.0.0 is not in the ledger")


def main() -> None:
    """`story.py pipeline|hosts`: one part of the story.
    STORY_FROM=<chapter> starts at that chapter, on an environment left
    where the one before it ends, and STORY_UNTIL=<chapter> stops after
    that one (for debugging a chapter)."""
    if sys.argv[1:] == ["first-release"]:
        first_release()
        return
    if sys.argv[1:2] == ["hook-reload"]:
        hook_reload(Path(sys.argv[2]))
        return
    if sys.argv[1:2] == ["hook-stop"]:
        hook_stop(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return
    part = sys.argv[1] if sys.argv[1:] else ""
    if part not in PARTS:
        raise SystemExit(f"story: no part {part!r}: give one of {', '.join(PARTS)}")
    url = f"http://{ENV.address('lb1')}/items"
    every = PARTS[part]
    start = os.environ.get("STORY_FROM", every[0].__name__)
    names = [c.__name__ for c in every]
    chapters = every[names.index(start):names.index(os.environ.get("STORY_UNTIL", names[-1])) + 1]
    with Load(url, rate=RATE, max_seconds=LOAD_SECONDS) as load:
        time.sleep(2)
        try:
            for chapter in chapters:
                chapter(load, url)
        finally:
            print(f"\n{'step':46} {'outcome':15} {'seconds':>7} {'requests':>8} {'failed':>6}")
            for name, outcome, seconds, requests, failed in ROWS:
                print(f"{name:46} {outcome:15} {seconds:7.1f} {requests:8d} {failed:6d}")
            print(f"load: {len(load.samples)} requests, {len(Load.failed(load.samples))} failed")


if __name__ == "__main__":
    main()
