#!/usr/bin/env python3
"""Phoenix benchmark: hosts rebuilt from nothing, and restores. Prints
tables; asserts nothing.

    .venv/bin/python bench/phoenix.py [--keep] [--rebuild blue1,lb1,backup1,db1] [--rows 100000,1000000]

Makes the molecule/bench environment (lb, db, backup, three blue and three
green app hosts as phoenix containers, converged by site.yml) and deploys
v1.0.0. Then, under a steady load of GET /version through the load balancer
(and, while the database host is rebuilt, a load of writes; only to the
test containers, bounded in count and time):

- `./deploy rebuild` of each kind of host: wall time, failed requests, and
  for the database host the writes acknowledged and lost, and the newest
  restored row against the newest acknowledged write;
- for each row count: the restore drill (pgBackRest: a full backup, one
  row written after it, then the newest backup and the WAL restored onto a
  scratch instance up to a restore point; the newest transaction it
  restored is that row's),
  against the baseline of pg_dump and pg_restore of the same database into
  a scratch database on the database host.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.load import Load  # noqa: E402
from tests.support.pipeline import Environment, bench_environment, wait_serving  # noqa: E402

RATE = 20
WRITE_RATE = 5
REBUILDS = ["blue1", "lb1", "backup1", "db1"]
REBUILT: list[tuple] = []
RESTORES: list[tuple] = []


def psql(env: Environment, query: str, database: str = "shop") -> str:
    return env.in_host(env.groups["db"][0], "runuser", "-u", "postgres", "--", "psql", "-d", database, "-Atc", query).stdout.strip()


def timed(env: Environment, host: str, *command: str) -> float:
    start = time.monotonic()
    env.in_host(host, *command)
    return time.monotonic() - start


def rebuild(env: Environment, reads: Load, host: str, base: str) -> None:
    writes = Load(f"{base}/items", rate=WRITE_RATE, max_seconds=900, writes=True) if host in env.groups["db"] else None
    if writes:
        writes.start()
        time.sleep(3)
    env.mark_old(host)
    start = time.monotonic()
    run = env.playbook("rebuild.yml", "-e", f"rebuild_host={host}")
    wall = time.monotonic() - start
    wait_serving(f"{base}/healthz", timeout=180)
    samples = reads.between(start, time.monotonic())
    acked = lost = gap = ""
    if writes:
        time.sleep(2)
        writes.stop()
        acknowledged = set(writes.acknowledged())
        present = {int(i) for i in psql(env, "SELECT id FROM items").split()}
        acked, lost = len(acknowledged), len(acknowledged - present)
        ids = ",".join(str(i) for i in acknowledged) or "0"
        gap = psql(env, f"SELECT round(extract(epoch FROM (SELECT max(created_at) FROM items) "
                        f"- (SELECT max(created_at) FROM items WHERE id IN ({ids}))), 3)")
    kind = next(g for g in ("lb", "db", "backup", "blue", "green") if host in env.groups.get(g, []))
    outcome = "FAILED" if run.returncode != 0 else "ok" if env.is_new(host) else "NOT NEW"
    REBUILT.append((host, kind, outcome, wall, len(samples), len(Load.failed(samples)),
                    acked, lost, gap))
    if run.returncode != 0:
        print(run.stdout[-3000:])


def restores(env: Environment, rows: int) -> None:
    """`rows` more rows in a table of their own, then the baseline (pg_dump,
    pg_restore) and pgBackRest (a full backup, the restore drill)."""
    db, backup = env.groups["db"][0], env.groups["backup"][0]
    psql(env, f"CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, body text NOT NULL); "
              f"INSERT INTO bench_rows (body) SELECT md5(g::text) FROM generate_series(1, {rows}) g")
    total = int(psql(env, "SELECT count(*) FROM bench_rows"))
    dump = timed(env, db, "runuser", "-u", "postgres", "--", "pg_dump", "-Fc", "-f", "/tmp/bench.pgc", "shop")
    psql(env, "DROP DATABASE IF EXISTS bench_restore", "postgres")
    psql(env, "CREATE DATABASE bench_restore", "postgres")
    restore = timed(env, db, "runuser", "-u", "postgres", "--", "pg_restore", "--no-owner", "-d", "bench_restore", "/tmp/bench.pgc")
    psql(env, "DROP DATABASE bench_restore", "postgres")
    env.in_host(db, "rm", "-f", "/tmp/bench.pgc")
    RESTORES.append((total, "pg_dump + pg_restore (baseline)", dump, restore, "", "", ""))

    backup_s = timed(env, backup, "runuser", "-u", "pgbackrest", "--", "pgbackrest", "--stanza=dev", "--type=full", "backup")
    # A transaction after the backup, which only the WAL carries: the drill
    # must replay it, and names the newest transaction it restored.
    written = psql(env, "INSERT INTO bench_rows (body) VALUES ('after the backup') RETURNING now()").splitlines()[0]
    start = time.monotonic()
    run = env.playbook("restore-drill.yml")
    wall = time.monotonic() - start
    drill = env.ledger()[-1]
    newest = drill.get("newest_restored_transaction", "")
    RESTORES.append((total, "pgBackRest full backup + drill" + ("" if run.returncode == 0 else " FAILED"), backup_s,
                     float(drill.get("restore_seconds", 0)), wall, written, newest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the environment up")
    parser.add_argument("--rows", default="100000,1000000", help="row counts of the restore measurements")
    parser.add_argument("--rebuild", default=",".join(REBUILDS), help="hosts to rebuild, in order ('' for none)")
    args = parser.parse_args()
    with bench_environment(keep=args.keep) as env:
        base = f"http://{env.address('lb1')}"
        with Load(f"{base}/version", rate=RATE, max_seconds=3000) as reads:
            for host in [h for h in args.rebuild.split(",") if h]:
                rebuild(env, reads, host, base)
        existing = 0
        for rows in (int(n) for n in args.rows.split(",")):
            restores(env, rows - existing)
            existing = rows
    print(f"\nRebuilds from nothing (./deploy <env> rebuild <host>), under {RATE} requests/s of GET /version;"
          f" {WRITE_RATE} writes/s while the database host is rebuilt")
    print(f"{'host':8} {'kind':7} {'outcome':8} {'wall s':>7} {'requests':>8} {'failed':>6} {'writes acked':>12} "
          f"{'rows lost':>9} {'newest restored - newest acked, s':>34}")
    for host, kind, outcome, wall, requests, failed, acked, lost, gap in REBUILT:
        print(f"{host:8} {kind:7} {outcome:8} {wall:7.1f} {requests:8d} {failed:6d} {acked!s:>12} {lost!s:>9} {gap!s:>34}")
    print("\nRestores of the application database (rows: of the table bench_rows in it)")
    print(f"{'rows':>9}  {'method':40} {'backup s':>8} {'restore s':>9} {'drill wall s':>12}  "
          f"{'written after the backup':32}  newest restored transaction")
    for rows, method, backup_s, restore_s, wall, written, newest in RESTORES:
        wall_text = f"{wall:.1f}" if wall != "" else ""
        print(f"{rows:9d}  {method:40} {backup_s:8.1f} {restore_s:9.1f} {wall_text:>12}  {written:32}  {newest}")


if __name__ == "__main__":
    main()
