#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: db_migrate
short_description: Backwards-compatible PostgreSQL migrations in expand, backfill and contract phases
description:
  - Applies the migrations of a directory to a PostgreSQL database, one phase at a time, so that the
    code being shipped works with both the old and the new schema.
  - Each migration is one YAML file named C(<id>_<name>.yml) with any of three parts.
    C(expand) is SQL that only adds (columns, tables, indexes).
    C(backfill) fills the new schema in batches by primary key (C(table), C(set), optional C(key) and C(where)).
    C(contract) removes what the old code needed (C(sql)), and declares C(safe_from_release), the oldest
    release that no longer needs the old schema.
  - Every applied part is recorded in the table C(phoenix_migrations) with its checksum, time and release.
    A part whose file changed after it was applied is refused.
  - Each C(expand) and C(contract) part runs in one transaction; an SQL error rolls the whole part back and
    the error names the migration and the statement.
  - A session advisory lock keeps two runs from interleaving; a second run waits up to O(lock_timeout), then
    fails and names the session that holds the lock.
  - A backfill commits each batch together with its progress, so an interrupted backfill resumes where it
    stopped. Batches are short transactions, so the application can keep writing.
  - Contract parts run only when O(oldest_live_release) is at least their C(safe_from_release). They run in
    order as far as that holds; when the first pending one is not safe yet, the run fails and says why.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
options:
  migrations_dir:
    description: Directory of migration files on the host the module runs on.
    type: path
    required: true
  phase:
    description:
      - V(expand), V(backfill) or V(contract) apply the pending parts of that phase.
      - V(status) reports what is applied and what is pending, and changes nothing.
    type: str
    required: true
    choices: [expand, backfill, contract, status]
  release:
    description: The release that applies the parts; recorded with each part.
    type: str
    default: ""
  oldest_live_release:
    description:
      - The oldest release still running on any live host, from the deploy ledger.
      - Required for O(phase=contract).
    type: str
  batch_size:
    description: Rows per backfill batch (one transaction each).
    type: int
    default: 1000
  rows_per_second:
    description: Most rows a backfill updates per second; V(0) means no limit.
    type: int
    default: 0
  backfill_max_seconds:
    description:
      - Stop a backfill after this many seconds, keeping its progress for the next run; V(0) means no limit.
    type: int
    default: 0
  lock_timeout:
    description: Seconds to wait for another run's migration lock before failing.
    type: int
    default: 30
  ddl_lock_timeout:
    description:
      - Seconds a statement of an expand or contract part may wait for a table lock before the part fails.
        Keeps DDL from queueing the application's queries behind it.
    type: int
    default: 5
extends_documentation_fragment:
  - phoenix.deploy.attributes
  - phoenix.deploy.postgres
notes:
  - Needs psycopg2 and PyYAML on the host the module runs on (Debian packages C(python3-psycopg2) and C(python3-yaml)).
attributes:
  check_mode:
    support: full
    description: Reports the parts that would be applied and connects read-only; nothing is written.
seealso:
  - module: phoenix.deploy.health_check
"""

EXAMPLES = r"""
- name: Add the new schema before the code that uses it ships
  phoenix.deploy.db_migrate:
    migrations_dir: /srv/shop/releases/v1.1.0/migrations
    phase: expand
    release: v1.1.0
    db: shop
    login_user: postgres

- name: Fill the new column, 2000 rows a second at most
  phoenix.deploy.db_migrate:
    migrations_dir: /srv/shop/releases/v1.1.0/migrations
    phase: backfill
    release: v1.1.0
    rows_per_second: 2000
    db: shop

- name: Drop the old schema once no live host needs it
  phoenix.deploy.db_migrate:
    migrations_dir: /srv/shop/releases/v1.2.0/migrations
    phase: contract
    release: v1.2.0
    oldest_live_release: "{{ ledger.oldest_live_release }}"
    db: shop

- name: What is applied, what is pending
  phoenix.deploy.db_migrate:
    migrations_dir: /srv/shop/releases/v1.2.0/migrations
    phase: status
    db: shop
  register: schema
"""

RETURN = r"""
applied:
  description: Parts applied by this run (in check mode, the parts that would be).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "0002", "part": "expand"}]
pending:
  description: Ids of migrations whose part is not applied yet, per part, after this run.
  returned: always
  type: dict
  sample: {"expand": [], "backfill": ["0002"], "contract": ["0002"]}
migrations:
  description: Every migration with the state of each of its parts.
  returned: always
  type: list
  elements: dict
  sample:
    - id: "0002"
      description: Keep a lower-cased copy of each email
      parts:
        expand: {state: applied, release: v1.1.0, applied_at: "2026-11-21T21:00:00+00:00"}
        backfill: {state: pending}
        contract: {state: pending, safe_from_release: v1.1.0}
backfill:
  description: One entry per backfill this run worked on.
  returned: when O(phase=backfill)
  type: list
  elements: dict
  contains:
    id:
      description: The migration id.
      type: str
    rows:
      description: Rows updated by this run.
      type: int
    batches:
      description: Batches committed by this run.
      type: int
    elapsed:
      description: Seconds this run spent on the backfill.
      type: float
    rows_per_second:
      description: Rows updated per second of elapsed time.
      type: float
    resumed_from_rows:
      description: Rows already done by earlier, interrupted runs.
      type: int
    complete:
      description: Whether the backfill reached the end of the table.
      type: bool
contract_point:
  description:
    - The newest O(migrations_dir) release that an applied contract part was safe from; releases older
      than it need schema that is gone. Empty when no contract part is applied.
  returned: always
  type: str
  sample: v1.2.0
blocked:
  description: Contract parts not applied because a live release still needs the old schema.
  returned: when O(phase=contract)
  type: list
  elements: dict
  sample: [{"id": "0003", "safe_from_release": "v1.3.0", "oldest_live_release": "v1.2.0"}]
"""

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.phoenix.deploy.plugins.module_utils.migrations import (
    PARTS,
    Backfill,
    Migration,
    MigrationError,
    load_migrations,
    split_statements,
)
from ansible_collections.phoenix.deploy.plugins.module_utils.postgres import connect, connection_argument_spec
from ansible_collections.phoenix.deploy.plugins.module_utils.releases import at_least, release_key

try:
    import yaml
except ImportError:
    yaml = None

try:
    from psycopg2 import Error as DatabaseError
    from psycopg2 import sql
except ImportError:
    DatabaseError = Exception
    sql = None

# The advisory lock every db_migrate run takes, whatever the migrations.
LOCK_KEY = 0x2B6F1E6A8C5D4F31

TRACKING_TABLES = [
    """CREATE TABLE IF NOT EXISTS phoenix_migrations (
        migration_id text NOT NULL,
        part text NOT NULL CHECK (part IN ('expand', 'backfill', 'contract')),
        checksum text NOT NULL,
        release text NOT NULL DEFAULT '',
        applied_at timestamptz NOT NULL DEFAULT now(),
        duration_ms integer NOT NULL,
        PRIMARY KEY (migration_id, part))""",
    """CREATE TABLE IF NOT EXISTS phoenix_backfill_progress (
        migration_id text PRIMARY KEY,
        last_key bigint NOT NULL,
        rows_done bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
]


def backfill_statements(spec: Backfill):
    """The two statements of a backfill batch: the batch's upper key bound,
    then the UPDATE of the key range (last, high].

    Each batch is a key range so that the planner serves it from the primary
    key index whatever it guesses for `where` (a column just added has no
    statistics, and a join on the batch's keys can turn into a full scan of the
    table per batch).
    """
    table = sql.Identifier(*spec.table.split("."))
    key = sql.Identifier(spec.key)
    upper_bound = sql.SQL(
        "SELECT max(k) FROM (SELECT {key} AS k FROM {table} WHERE {key} > %(last)s "
        "ORDER BY {key} LIMIT %(size)s) AS batch"
    ).format(key=key, table=table)
    update = sql.SQL(
        "UPDATE {table} SET {assign} WHERE {key} > %(last)s AND {key} <= %(high)s AND ({where})"
    ).format(key=key, table=table, assign=sql.SQL(spec.set), where=sql.SQL(spec.where))
    return upper_bound, update


class Migrator:
    def __init__(self, module: AnsibleModule, migrations: list[Migration]):
        self.module = module
        self.params = module.params
        self.migrations = migrations
        self.conn = connect(module, "db_migrate")
        self.applied: dict[tuple[str, str], dict[str, Any]] = {}
        self.done: list[dict[str, str]] = []

    # -- reading state -------------------------------------------------------

    def read_applied(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT to_regclass('phoenix_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return
            cur.execute("SELECT migration_id, part, checksum, release, applied_at FROM phoenix_migrations")
            for migration_id, part, checksum, release, applied_at in cur.fetchall():
                self.applied[(migration_id, part)] = {
                    "checksum": checksum,
                    "release": release,
                    "applied_at": applied_at.isoformat(),
                }
        self.conn.rollback()

    def changed_files(self) -> list[str]:
        """Applied parts whose file no longer says what was applied."""
        changed = []
        for migration in self.migrations:
            for part in PARTS:
                record = self.applied.get((migration.id, part))
                if record and migration.has(part) and record["checksum"] != migration.checksums[part]:
                    changed.append(f"{migration.path} ({part})")
        return changed

    def is_applied(self, migration: Migration, part: str) -> bool:
        return (migration.id, part) in self.applied

    def pending(self) -> dict[str, list[str]]:
        return {
            part: [m.id for m in self.migrations if m.has(part) and not self.is_applied(m, part)]
            for part in PARTS
        }

    def report(self) -> list[dict[str, Any]]:
        report = []
        for migration in self.migrations:
            parts = {}
            for part in PARTS:
                if not migration.has(part):
                    continue
                record = self.applied.get((migration.id, part))
                state: dict[str, Any] = {"state": "applied" if record else "pending"}
                if record:
                    state.update(release=record["release"], applied_at=record["applied_at"])
                if part == "contract":
                    state["safe_from_release"] = migration.safe_from_release
                parts[part] = state
            report.append({"id": migration.id, "description": migration.description, "parts": parts})
        return report

    # -- locking and recording -------------------------------------------------

    def lock(self) -> None:
        deadline = time.monotonic() + self.params["lock_timeout"]
        with self.conn.cursor() as cur:
            while True:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
                if cur.fetchone()[0]:
                    self.conn.commit()
                    return
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.25)
            cur.execute(
                """SELECT a.pid, a.application_name, coalesce(host(a.client_addr), 'local'), a.backend_start
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.granted
                     AND ((l.classid::bigint << 32) | l.objid::bigint) = %s""",
                (LOCK_KEY,),
            )
            holder = cur.fetchone()
        self.conn.rollback()
        who = (
            f"pid {holder[0]} ({holder[1] or 'no application name'}, from {holder[2]}, since {holder[3].isoformat()})"
            if holder
            else "another session"
        )
        self.module.fail_json(
            msg=f"another migration run holds the migration lock: {who}; waited {self.params['lock_timeout']}s (lock_timeout)"
        )

    def ensure_tracking_tables(self) -> None:
        with self.conn.cursor() as cur:
            for statement in TRACKING_TABLES:
                cur.execute(statement)
        self.conn.commit()

    def record(self, cur, migration: Migration, part: str, started: float) -> None:
        cur.execute(
            "INSERT INTO phoenix_migrations (migration_id, part, checksum, release, duration_ms) VALUES (%s, %s, %s, %s, %s)",
            (migration.id, part, migration.checksums[part], self.params["release"], int((time.monotonic() - started) * 1000)),
        )
        self.applied[(migration.id, part)] = {"checksum": migration.checksums[part], "release": self.params["release"], "applied_at": ""}
        self.done.append({"id": migration.id, "part": part})

    # -- applying ----------------------------------------------------------------

    def run_sql_part(self, migration: Migration, part: str, text: str) -> None:
        """Run one expand or contract part in a single transaction."""
        started = time.monotonic()
        statements = split_statements(text)
        with self.conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{self.params['ddl_lock_timeout']}s",))
            for number, statement in enumerate(statements, start=1):
                try:
                    cur.execute(statement)
                except DatabaseError as error:
                    self.conn.rollback()
                    self.module.fail_json(
                        msg=f"migration {migration.id} ({migration.path}) {part} failed at statement "
                        f"{number} of {len(statements)}, rolled back: {statement!r}: {str(error).strip()}",
                        applied=self.done,
                    )
            self.record(cur, migration, part, started)
        self.conn.commit()

    def require_applied_before(self, migration: Migration, part: str) -> None:
        earlier = PARTS[: PARTS.index(part)]
        missing = [p for p in earlier if migration.has(p) and not self.is_applied(migration, p)]
        if missing:
            self.module.fail_json(
                msg=f"migration {migration.id} ({migration.path}): run phase {missing[0]} before {part}",
                applied=self.done,
                pending=self.pending(),
            )

    def expand(self) -> None:
        for migration in self.migrations:
            if migration.has("expand") and not self.is_applied(migration, "expand"):
                self.run_sql_part(migration, "expand", migration.expand)

    def contract(self) -> list[dict[str, str]]:
        oldest = self.params["oldest_live_release"]
        blocked = []
        for migration in self.migrations:
            if not migration.has("contract") or self.is_applied(migration, "contract"):
                continue
            if blocked or not at_least(oldest, migration.safe_from_release):
                blocked.append({"id": migration.id, "safe_from_release": migration.safe_from_release, "oldest_live_release": oldest})
                continue
            self.require_applied_before(migration, "contract")
            self.run_sql_part(migration, "contract", migration.contract)
        if blocked and not self.done:
            first = blocked[0]
            self.module.fail_json(
                msg=f"contract of migration {first['id']} refused: it removes schema that releases before "
                f"{first['safe_from_release']} need, and the oldest live release is {oldest}",
                blocked=blocked,
                pending=self.pending(),
                migrations=self.report(),
                contract_point=contract_point(self.report()),
                applied=[],
            )
        return blocked

    def backfill(self) -> list[dict[str, Any]]:
        results = []
        for migration in self.migrations:
            if migration.has("backfill") and not self.is_applied(migration, "backfill"):
                self.require_applied_before(migration, "backfill")
                results.append(self.run_backfill(migration))
                if not results[-1]["complete"]:
                    break
        return results

    def run_backfill(self, migration: Migration) -> dict[str, Any]:
        upper_bound, update = backfill_statements(migration.backfill)
        progress_sql = """INSERT INTO phoenix_backfill_progress (migration_id, last_key, rows_done)
                          VALUES (%(id)s, %(last)s, %(rows)s)
                          ON CONFLICT (migration_id) DO UPDATE
                          SET last_key = EXCLUDED.last_key, rows_done = EXCLUDED.rows_done, updated_at = now()"""

        with self.conn.cursor() as cur:
            cur.execute("SELECT last_key, rows_done FROM phoenix_backfill_progress WHERE migration_id = %s", (migration.id,))
            row = cur.fetchone()
        self.conn.commit()
        last, resumed_rows = (row[0], row[1]) if row else (-(2 ** 63), 0)

        limit = self.params["rows_per_second"]
        max_seconds = self.params["backfill_max_seconds"]
        started = time.monotonic()
        rows = batches = 0
        complete = False
        while True:
            with self.conn.cursor() as cur:
                try:
                    cur.execute(upper_bound, {"last": last, "size": self.params["batch_size"]})
                    batch_max = cur.fetchone()[0]
                    if batch_max is None:
                        complete = True
                        self.record(cur, migration, "backfill", started)
                        cur.execute("DELETE FROM phoenix_backfill_progress WHERE migration_id = %s", (migration.id,))
                    else:
                        cur.execute(update, {"last": last, "high": batch_max})
                        rows += cur.rowcount
                        batches += 1
                        last = batch_max
                        cur.execute(progress_sql, {"id": migration.id, "last": last, "rows": resumed_rows + rows})
                except DatabaseError as error:
                    self.conn.rollback()
                    self.module.fail_json(
                        msg=f"migration {migration.id} ({migration.path}) backfill failed after {rows} rows this run "
                        f"(progress kept, the next run resumes): {str(error).strip()}",
                        applied=self.done,
                    )
            self.conn.commit()
            elapsed = time.monotonic() - started
            if complete or (max_seconds and elapsed >= max_seconds):
                break
            if limit:
                ahead = rows / limit - elapsed
                if ahead > 0:
                    time.sleep(ahead)

        elapsed = time.monotonic() - started
        return {
            "id": migration.id,
            "rows": rows,
            "batches": batches,
            "elapsed": round(elapsed, 3),
            "rows_per_second": round(rows / elapsed, 1) if elapsed > 0 else 0.0,
            "resumed_from_rows": resumed_rows,
            "complete": complete,
        }


def validate_releases(module: AnsibleModule) -> None:
    for name in ("release", "oldest_live_release"):
        value = module.params[name]
        if value:
            try:
                release_key(value)
            except ValueError as error:
                module.fail_json(msg=f"{name}: {error}")
    if module.params["phase"] == "contract" and not module.params["oldest_live_release"]:
        module.fail_json(msg="phase=contract needs oldest_live_release: the oldest release any live or warm app host runs")
    for name in ("batch_size",):
        if module.params[name] < 1:
            module.fail_json(msg=f"{name} must be at least 1, got {module.params[name]}")
    for name in ("rows_per_second", "backfill_max_seconds", "lock_timeout", "ddl_lock_timeout"):
        if module.params[name] < 0:
            module.fail_json(msg=f"{name} must not be negative, got {module.params[name]}")


def contract_point(report: list[dict[str, Any]]) -> str:
    """The newest safe_from_release of the applied contract parts: no older
    release can run on the schema."""
    points = [m["parts"]["contract"]["safe_from_release"] for m in report
              if m["parts"].get("contract", {}).get("state") == "applied"]
    return max(points, key=release_key) if points else ""


def main() -> None:
    argument_spec = connection_argument_spec()
    argument_spec.update(
        migrations_dir={"type": "path", "required": True},
        phase={"type": "str", "required": True, "choices": ["expand", "backfill", "contract", "status"]},
        release={"type": "str", "default": ""},
        oldest_live_release={"type": "str"},
        batch_size={"type": "int", "default": 1000},
        rows_per_second={"type": "int", "default": 0},
        backfill_max_seconds={"type": "int", "default": 0},
        lock_timeout={"type": "int", "default": 30},
        ddl_lock_timeout={"type": "int", "default": 5},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if yaml is None:
        module.fail_json(msg=missing_required_lib("PyYAML (Debian: python3-yaml)"))
    validate_releases(module)
    try:
        migrations = load_migrations(module.params["migrations_dir"], yaml.safe_load)
    except MigrationError as error:
        module.fail_json(msg=f"malformed migration: {error}")

    migrator = Migrator(module, migrations)
    phase = module.params["phase"]
    migrator.read_applied()
    changed_files = migrator.changed_files()
    if changed_files and phase != "status":
        module.fail_json(
            msg="refusing to migrate: these parts were changed after they were applied: " + ", ".join(changed_files),
            changed_after_apply=changed_files,
        )

    result: dict[str, Any] = {"changed": False, "applied": []}
    if phase == "status":
        result["changed_after_apply"] = changed_files
    elif module.check_mode:
        result["applied"] = [{"id": mid, "part": phase} for mid in migrator.pending()[phase]]
        result["changed"] = bool(result["applied"])
    else:
        migrator.lock()
        migrator.ensure_tracking_tables()
        migrator.read_applied()  # again, under the lock
        if phase == "expand":
            migrator.expand()
        elif phase == "backfill":
            result["backfill"] = migrator.backfill()
        elif phase == "contract":
            result["blocked"] = migrator.contract()
        result["applied"] = migrator.done
        result["changed"] = bool(migrator.done) or any(b["rows"] for b in result.get("backfill", []))

    result["pending"] = migrator.pending()
    result["migrations"] = migrator.report()
    result["contract_point"] = contract_point(result["migrations"])
    migrator.conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
