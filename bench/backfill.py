#!/usr/bin/env python3
"""Backfill benchmark for phoenix.deploy.db_migrate. Prints tables; asserts nothing.

    .venv/bin/python bench/backfill.py [--rows 300000]

Runs a throwaway PostgreSQL 15 (Debian's packages) on 127.0.0.1 with default
durability settings, and the module as its own process, as Ansible would.

1. Throughput: a backfill of --rows rows at several batch sizes, no rate limit.
2. Rate limit: a backfill limited to 2000 rows/s; how close the measured rate is.
3. Write overhead: an application doing single-row writes, alone and while a
   backfill runs (unlimited and at 2000 rows/s): writes/s and p95 latency.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ansible_collections.phoenix.deploy.plugins.module_utils.stats import percentile  # noqa: E402
from tests.support.postgres import insert_users, temporary_postgres  # noqa: E402

MIGRATION = """\
expand: |
  ALTER TABLE users ADD COLUMN email_lower text;
backfill:
  table: users
  set: email_lower = lower(email)
  where: email_lower IS NULL
"""


def prepare(server, rows: int) -> str:
    db = server.create_database()
    conn = server.connect(db, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)")
        insert_users(cur.execute, rows)
        cur.execute("VACUUM ANALYZE users")
    conn.close()
    return db


def run_module(server, db: str, migrations: Path, phase: str, **extra) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"migrations_dir": str(migrations), "phase": phase, **server.args(db), **extra}}, handle)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "ansible_collections.phoenix.deploy.plugins.modules.db_migrate", handle.name],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False,
        )
    finally:
        os.unlink(handle.name)
    result = json.loads(out.stdout)
    if result.get("failed"):
        raise RuntimeError(result["msg"])
    return result


def backfill(server, rows: int, migrations: Path, **extra) -> dict:
    db = prepare(server, rows)
    try:
        run_module(server, db, migrations, "expand")
        return run_module(server, db, migrations, "backfill", **extra)["backfill"][0]
    finally:
        server.drop_database(db)


class Application:
    """Single-row writes as a web app does them: an UPDATE of a random row
    then an INSERT, each its own transaction. Bounded by time."""

    def __init__(self, server, db: str, rows: int):
        self.server, self.db, self.rows = server, db, rows
        self.writes: list[tuple[float, float]] = []  # (when it ended, latency ms)
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import random

        conn = self.server.connect(self.db, autocommit=True)
        rng = random.Random(1)
        with conn.cursor() as cur:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    email = f"New{rng.random()}@Example.ORG"
                    cur.execute("UPDATE users SET email = %s, email_lower = lower(%s) WHERE id = %s",
                                (email, email, rng.randint(1, self.rows)))
                    cur.execute("INSERT INTO users (email, email_lower) VALUES (%s, lower(%s))", (email, email))
                except Exception:  # counted, reported in the table
                    self.errors += 1
                ended = time.perf_counter()
                self.writes.append((ended, (ended - started) * 1000))
        conn.close()


def writes_during(server, rows: int, migrations: Path, seconds: float, **backfill_args) -> dict:
    """The application's writes while a backfill runs (or, with
    enabled=False, for `seconds` alone): writes/s and latency, counted only
    inside the backfill's own window."""
    db = prepare(server, rows)
    try:
        run_module(server, db, migrations, "expand")
        app = Application(server, db, rows)
        thread = threading.Thread(target=app.run)
        thread.start()
        time.sleep(0.5)  # the application is up to speed first
        started = time.perf_counter()
        result = None
        if backfill_args.get("enabled", True):
            args = {k: v for k, v in backfill_args.items() if k != "enabled"}
            result = run_module(server, db, migrations, "backfill", backfill_max_seconds=int(seconds), **args)["backfill"][0]
        else:
            time.sleep(seconds)
        ended = time.perf_counter()
        app.stop.set()
        thread.join()
        window = [latency for when, latency in app.writes if started <= when <= ended]
        return {
            "window_s": ended - started,
            "writes_per_s": len(window) / (ended - started),
            "p50_ms": percentile(window, 0.5),
            "p95_ms": percentile(window, 0.95),
            "errors": app.errors,
            "backfill_rows_per_s": result["rows_per_second"] if result else None,
        }
    finally:
        server.drop_database(db)


def table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="longest write-overhead run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per batch size; the median is shown")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, temporary_postgres() as server:
        migrations = Path(scratch)
        (migrations / "0001_email_lower.yml").write_text(MIGRATION)

        throughput = []
        for batch in (500, 1000, 5000):
            runs = sorted((backfill(server, options.rows, migrations, batch_size=batch) for _ in range(options.repeats)),
                          key=lambda r: r["rows_per_second"])
            median = runs[len(runs) // 2]
            throughput.append([f"{options.rows:,}", batch, median["batches"], f"{median['elapsed']:.2f}",
                               f"{median['rows_per_second']:,.0f}", f"{runs[0]['rows_per_second']:,.0f}-{runs[-1]['rows_per_second']:,.0f}"])
        table(f"Backfill throughput, no rate limit, median of {options.repeats} (anchor: pgroll 9.4k-11k rows/s at 300k rows)",
              ["rows", "batch", "batches", "seconds", "rows/s", "range"], throughput)

        limited = backfill(server, 20_000, migrations, batch_size=200, rows_per_second=2000)
        error = (limited["rows_per_second"] - 2000) / 2000 * 100
        table("Rate limit accuracy", ["limit rows/s", "rows", "seconds", "measured rows/s", "error"],
              [[2000, f"{limited['rows']:,}", f"{limited['elapsed']:.2f}", f"{limited['rows_per_second']:,.0f}", f"{error:+.1f}%"]])

        runs = [
            ("application alone", {"enabled": False}),
            ("with backfill, no limit", {"batch_size": 1000}),
            ("with backfill, 2000 rows/s", {"batch_size": 200, "rows_per_second": 2000}),
        ]
        results = [(name, writes_during(server, options.rows, migrations, options.seconds, **args)) for name, args in runs]
        alone = results[0][1]
        rows = []
        for name, r in results:
            overhead = (alone["writes_per_s"] - r["writes_per_s"]) / alone["writes_per_s"] * 100
            rows.append([
                name, f"{r['window_s']:.1f}", f"{r['writes_per_s']:,.0f}", f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}",
                f"{overhead:.1f}%" if r is not alone else "-", r["errors"],
                f"{r['backfill_rows_per_s']:,.0f}" if r["backfill_rows_per_s"] else "-",
            ])
        table("Write overhead on the table, counted while the backfill runs (UPDATE+INSERT per write)",
              ["run", "seconds", "writes/s", "p50 ms", "p95 ms", "throughput lost", "errors", "backfill rows/s"], rows)


if __name__ == "__main__":
    main()
