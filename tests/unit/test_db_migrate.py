"""phoenix.deploy.db_migrate against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.postgres import free_port, insert_users

USERS = """\
description: The users table.
expand: |
  CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);
"""

EMAIL_LOWER = """\
description: Keep a lower-cased copy of each email.
expand: |
  ALTER TABLE users ADD COLUMN email_lower text;
backfill:
  table: users
  set: email_lower = lower(email)
  where: email_lower IS NULL
contract:
  safe_from_release: v1.1.0
  sql: |
    ALTER TABLE users ALTER COLUMN email_lower SET NOT NULL;
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(textwrap.dedent(content))
    return directory


@pytest.fixture
def migrations(tmp_path) -> Path:
    return write(tmp_path / "migrations", {"0001_users.yml": USERS, "0002_email_lower.yml": EMAIL_LOWER})


@pytest.fixture
def migrate(run_module, postgres, database, migrations):
    def run(phase: str, check_mode: bool = False, **extra) -> dict:
        args = {"migrations_dir": str(migrations), "phase": phase, "release": "v1.1.0", **postgres.args(database), **extra}
        return run_module("db_migrate", args, check_mode=check_mode)

    return run


@pytest.fixture
def sql(postgres, database):
    """sql("SELECT ...") -> rows, on its own autocommit connection."""
    conn = postgres.connect(database)
    conn.autocommit = True

    def run(statement: str, params=None):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None

    yield run
    conn.close()


def test_expand_applies_pending_parts_and_records_them(migrate, sql):
    result = migrate("expand")

    assert result["changed"] is True
    assert result["applied"] == [{"id": "0001", "part": "expand"}, {"id": "0002", "part": "expand"}]
    assert result["pending"] == {"expand": [], "backfill": ["0002"], "contract": ["0002"]}
    columns = {r[0] for r in sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'users'")}
    assert columns == {"id", "email", "email_lower"}
    recorded = sql("SELECT migration_id, part, release, length(checksum) FROM phoenix_migrations ORDER BY 1")
    assert recorded == [("0001", "expand", "v1.1.0", 64), ("0002", "expand", "v1.1.0", 64)]


def test_expand_twice_changes_nothing(migrate):
    migrate("expand")
    again = migrate("expand")
    assert again["changed"] is False
    assert again["applied"] == []


def test_check_mode_reports_pending_parts_and_touches_nothing(migrate, sql):
    result = migrate("expand", check_mode=True)

    assert result["changed"] is True
    assert [a["id"] for a in result["applied"]] == ["0001", "0002"]
    assert sql("SELECT to_regclass('users'), to_regclass('phoenix_migrations')") == [(None, None)]


def test_status_says_what_is_applied_and_pending(migrate):
    migrate("expand")
    status = migrate("status")

    assert status["changed"] is False
    parts = {m["id"]: m["parts"] for m in status["migrations"]}
    assert parts["0002"]["expand"]["state"] == "applied"
    assert parts["0002"]["expand"]["release"] == "v1.1.0"
    assert parts["0002"]["backfill"] == {"state": "pending"}
    assert parts["0002"]["contract"] == {"state": "pending", "safe_from_release": "v1.1.0"}


def test_a_part_changed_after_it_was_applied_is_refused(migrate, migrations):
    migrate("expand")
    edited = EMAIL_LOWER.replace("ADD COLUMN email_lower text", "ADD COLUMN email_lower varchar(200)")
    (migrations / "0002_email_lower.yml").write_text(edited)

    result = migrate("backfill")

    assert result["failed"] is True
    assert "0002_email_lower.yml (expand)" in result["msg"]
    assert "changed after they were applied" in result["msg"]


def test_sql_error_rolls_the_part_back_and_names_migration_and_statement(migrate, migrations, sql):
    write(migrations, {"0003_broken.yml": """\
        expand: |
          CREATE TABLE audit (id bigserial PRIMARY KEY);
          ALTER TABLE users ADD COLUMN nickname text;
          ALTER TABLE no_such_table ADD COLUMN x int;
        """})

    result = migrate("expand")

    assert result["failed"] is True
    assert "migration 0003" in result["msg"]
    assert "statement 3 of 3" in result["msg"]
    assert "ALTER TABLE no_such_table ADD COLUMN x int" in result["msg"]
    assert 'relation "no_such_table" does not exist' in result["msg"]
    # 0001 and 0002 went in; nothing of 0003 did.
    assert result["applied"] == [{"id": "0001", "part": "expand"}, {"id": "0002", "part": "expand"}]
    assert sql("SELECT to_regclass('audit')") == [(None,)]
    nickname = sql("SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'")
    assert nickname == []
    assert sql("SELECT count(*) FROM phoenix_migrations WHERE migration_id = '0003'") == [(0,)]


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("0003_bad.yml", "expand: [not, sql]\n", "'expand' must be a non-empty SQL string"),
        ("0003_bad.yml", "expand: 'SELECT 1'\nrollback: 'x'\n", "unknown keys ['rollback']"),
        ("0003_bad.yml", "backfill: {table: users}\n", "'backfill.set' is required"),
        ("0003_bad.yml", "backfill: {table: 'users; DROP', set: 'a = 1'}\n", "'backfill.table' must be a plain SQL name"),
        ("0003_bad.yml", "contract: {sql: 'SELECT 1'}\n", "exactly 'safe_from_release' and 'sql'"),
        ("0003_bad.yml", "contract: {safe_from_release: latest, sql: 'SELECT 1'}\n", "not a release tag"),
        ("0003_bad.yml", "expand: 'SELECT 1'\n  bad: indent\n", "not valid YAML"),
        ("bad_name.yml", "expand: 'SELECT 1'\n", "file name must be <number>_<name>.yml"),
        ("0002_again.yml", "expand: 'SELECT 1'\n", "id 0002 is also used by"),
    ],
)
def test_a_malformed_migration_is_refused_before_anything_runs(migrate, migrations, sql, name, content, complaint):
    (migrations / name).write_text(content)

    result = migrate("expand")

    assert result["failed"] is True
    assert result["msg"].startswith("malformed migration:")
    assert complaint in result["msg"]
    assert name in result["msg"]
    assert sql("SELECT to_regclass('phoenix_migrations')") == [(None,)]


def test_an_unreachable_database_gets_a_clear_error(run_module, migrations):
    port = free_port()
    result = run_module("db_migrate", {
        "migrations_dir": str(migrations), "phase": "expand", "db": "shop",
        "login_host": "127.0.0.1", "port": port, "connect_timeout": 2,
    })

    assert result["failed"] is True
    assert f"cannot connect to database 'shop' as 'postgres' at 127.0.0.1:{port}" in result["msg"]


def test_a_second_run_waits_for_the_lock_then_names_its_holder(migrate, postgres, database):
    from ansible_collections.phoenix.deploy.plugins.modules.db_migrate import LOCK_KEY

    holder = postgres.connect(database)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("SET application_name = 'deploy-by-alice'")
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        result = migrate("expand", lock_timeout=1)
    finally:
        holder.close()

    assert result["failed"] is True
    assert f"pid {pid} (deploy-by-alice" in result["msg"]
    assert "waited 1s" in result["msg"]


def test_backfill_fills_every_row_in_batches_and_reports_its_rate(migrate, sql):
    migrate("expand")
    insert_users(sql, 2500)

    result = migrate("backfill", batch_size=1000)

    assert result["changed"] is True
    [backfill] = result["backfill"]
    assert backfill["id"] == "0002"
    assert backfill["rows"] == 2500
    assert backfill["batches"] == 3
    assert backfill["complete"] is True
    assert backfill["resumed_from_rows"] == 0
    assert backfill["rows_per_second"] > 0 and backfill["elapsed"] > 0
    assert sql("SELECT count(*) FROM users WHERE email_lower IS DISTINCT FROM lower(email)") == [(0,)]
    assert sql("SELECT count(*) FROM phoenix_backfill_progress") == [(0,)]
    assert migrate("backfill")["changed"] is False


def test_backfill_needs_its_expand_first(migrate, migrations, sql):
    write(migrations, {"0003_more.yml": """\
        expand: "ALTER TABLE users ADD COLUMN domain text;"
        backfill: {table: users, set: "domain = split_part(email, '@', 2)"}
        """})
    migrate("expand")
    sql("DELETE FROM phoenix_migrations WHERE migration_id = '0003'")

    result = migrate("backfill")

    assert result["failed"] is True
    assert "migration 0003" in result["msg"] and "run phase expand before backfill" in result["msg"]


def test_an_interrupted_backfill_resumes_from_its_stored_progress(migrate, migrations, postgres, database, sql, tmp_path):
    migrate("expand")
    insert_users(sql, 6000)
    args = {
        "ANSIBLE_MODULE_ARGS": {
            "migrations_dir": str(migrations), "phase": "backfill", "release": "v1.1.0",
            "batch_size": 100, "rows_per_second": 1000, **postgres.args(database),
        }
    }
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps(args))
    process = subprocess.Popen(
        [sys.executable, "-m", "ansible_collections.phoenix.deploy.plugins.modules.db_migrate", str(args_file)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = sql("SELECT to_regclass('phoenix_backfill_progress') IS NOT NULL")[0][0] and sql(
            "SELECT coalesce(max(rows_done), 0) FROM phoenix_backfill_progress")[0][0]
        if done and done >= 1000:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    [(stored,)] = sql("SELECT rows_done FROM phoenix_backfill_progress WHERE migration_id = '0002'")
    assert 1000 <= stored < 6000, "the first run was to be killed half-way"

    result = migrate("backfill", batch_size=500)

    [backfill] = result["backfill"]
    assert backfill["resumed_from_rows"] == stored
    assert backfill["rows"] == 6000 - stored
    assert backfill["complete"] is True
    assert sql("SELECT count(*) FROM users WHERE email_lower IS DISTINCT FROM lower(email)") == [(0,)]


def test_backfill_is_safe_while_the_application_writes(migrate, sql, postgres, database):
    """New code writes both columns; the backfill fills what old code left."""
    migrate("expand")
    insert_users(sql, 20000)
    errors: list[Exception] = []
    writes = 0
    stop = threading.Event()

    def application():
        nonlocal writes
        conn = postgres.connect(database)
        conn.autocommit = True
        rng = random.Random(7)
        with conn.cursor() as cur:
            while not stop.is_set():
                try:
                    email = f"New{writes}@Example.ORG"
                    cur.execute("INSERT INTO users (email, email_lower) VALUES (%s, lower(%s))", (email, email))
                    cur.execute(
                        "UPDATE users SET email = %s, email_lower = lower(%s) WHERE id = %s",
                        (email, email, rng.randint(1, 20000)),
                    )
                    writes += 2
                except Exception as error:  # any error is a finding
                    errors.append(error)
                    return
        conn.close()

    writer = threading.Thread(target=application)
    writer.start()
    try:
        result = migrate("backfill", batch_size=500)
    finally:
        stop.set()
        writer.join()

    assert not errors
    assert writes > 0
    assert result["backfill"][0]["complete"] is True
    assert sql("SELECT count(*) FROM users WHERE email_lower IS DISTINCT FROM lower(email)") == [(0,)]


def test_contract_is_refused_while_a_live_release_needs_the_old_schema(migrate, sql):
    migrate("expand")
    migrate("backfill")

    result = migrate("contract", oldest_live_release="v1.0.0")

    assert result["failed"] is True
    assert "contract of migration 0002 refused" in result["msg"]
    assert "v1.1.0" in result["msg"] and "oldest live release is v1.0.0" in result["msg"]
    assert result["blocked"] == [{"id": "0002", "safe_from_release": "v1.1.0", "oldest_live_release": "v1.0.0"}]
    assert result["contract_point"] == ""
    nullable = sql("SELECT is_nullable FROM information_schema.columns WHERE table_name='users' AND column_name='email_lower'")
    assert nullable == [("YES",)]


def test_contract_runs_once_no_live_release_needs_the_old_schema(migrate, sql):
    migrate("expand")
    migrate("backfill")

    result = migrate("contract", oldest_live_release="v1.1.0")

    assert result["changed"] is True
    assert result["applied"] == [{"id": "0002", "part": "contract"}]
    assert result["contract_point"] == "v1.1.0"
    nullable = sql("SELECT is_nullable FROM information_schema.columns WHERE table_name='users' AND column_name='email_lower'")
    assert nullable == [("NO",)]


def test_contract_without_the_oldest_live_release_is_refused(migrate):
    result = migrate("contract")
    assert result["failed"] is True
    assert "needs oldest_live_release" in result["msg"]


def test_contract_waits_for_its_backfill(migrate):
    migrate("expand")
    result = migrate("contract", oldest_live_release="v1.2.0")
    assert result["failed"] is True
    assert "run phase backfill before contract" in result["msg"]


def test_every_backfill_batch_is_served_by_the_key_index(postgres, database, sql):
    """A column just added has no statistics; the batch must not turn into a
    scan of the whole table (which makes a backfill quadratic in its size)."""
    from ansible_collections.phoenix.deploy.plugins.module_utils.migrations import Backfill
    from ansible_collections.phoenix.deploy.plugins.modules.db_migrate import backfill_statements

    sql("CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)")
    insert_users(sql, 50000)
    sql("VACUUM ANALYZE users")
    sql("ALTER TABLE users ADD COLUMN email_lower text")
    upper_bound, update = backfill_statements(Backfill(table="users", set="email_lower = lower(email)", where="email_lower IS NULL"))

    conn = postgres.connect(database)
    for size in (500, 1000, 5000):
        with conn.cursor() as cur:
            for statement, params in ((upper_bound, {"last": -(2 ** 63), "size": size}),
                                      (update, {"last": 20000, "high": 20000 + size})):
                cur.execute(sql_explain(statement, conn), params)
                plan = "\n".join(row[0] for row in cur.fetchall())
                assert "Seq Scan" not in plan, plan
                assert "users_pkey" in plan, plan
    conn.close()


def sql_explain(statement, conn) -> str:
    return "EXPLAIN " + statement.as_string(conn)
