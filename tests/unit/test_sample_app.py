"""The sample application's /healthz speaks for the release: healthy only when
the database answers and holds the schema the release needs."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import time

import pytest

from tests.support import ROOT

MIGRATIONS = ROOT / "examples" / "app" / "migrations"


@pytest.fixture
def wsgi(postgres, database, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "app"))
    for name in ("shop.wsgi", "shop"):  # a new module each test: a new worker, with no connection yet
        sys.modules.pop(name, None)
    module = importlib.import_module("shop.wsgi")

    monkeypatch.setattr(module, "CONFIG", {"database": {"host": postgres.host, "port": postgres.port, "name": database,
                                                        "user": postgres.user}})
    yield module
    if module._connection is not None:
        module._connection.close()
    for name in ("shop.wsgi", "shop"):
        sys.modules.pop(name, None)


def expand_v1_0_0(run_module, postgres, database) -> dict:
    """The schema v1.0.0 needs, by its own migrations."""
    return run_module("db_migrate", {**postgres.args(database), "migrations_dir": str(MIGRATIONS), "phase": "expand",
                                     "release": "v1.0.0"})


def get(app, path: str) -> tuple[str, dict]:
    answer = {}

    def start_response(status, headers):
        answer["status"] = status

    body = b"".join(app.application({"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}, start_response))
    return answer["status"], json.loads(body)


def test_the_release_needs_the_expand_parts_it_ships(wsgi):
    assert wsgi.SCHEMA_NEEDED == {"0001"}


def test_an_empty_database_that_answers_is_not_healthy(wsgi):
    status, health = get(wsgi, "/healthz")
    assert status.startswith("503")
    assert health["checks"] == {"database": "ok", "schema": "missing migrations 0001"}


def test_with_its_schema_the_release_is_healthy(wsgi, run_module, postgres, database):
    migrated = expand_v1_0_0(run_module, postgres, database)
    assert not migrated.get("failed"), migrated

    status, health = get(wsgi, "/healthz")

    assert status == "200 OK"
    assert health["checks"] == {"database": "ok", "schema": "ok"}


def backend(wsgi) -> int:
    return wsgi._connection.get_backend_pid()


def test_a_worker_keeps_its_connection_from_one_request_to_the_next(wsgi):
    get(wsgi, "/healthz")
    first = backend(wsgi)
    get(wsgi, "/healthz")
    assert backend(wsgi) == first


def test_a_connection_the_database_ended_costs_no_request(wsgi, run_module, postgres, database):
    expand_v1_0_0(run_module, postgres, database)
    get(wsgi, "/items")
    ended = backend(wsgi)
    with postgres.connect(database, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (ended,))
        assert cur.fetchone()[0]
        # pg_terminate_backend only signals: wait until the backend is gone
        # (it has sent why and closed), however busy the machine.
        for _ in range(600):
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (ended,))
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.05)

    status, listing = get(wsgi, "/items")

    assert (status, listing) == ("200 OK", [])
    assert backend(wsgi) != ended


def test_the_items_are_the_newest_page_of_them(wsgi, run_module, postgres, database):
    expand_v1_0_0(run_module, postgres, database)
    with postgres.connect(database, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, %s) g", (wsgi.PAGE + 50,))

    status, listing = get(wsgi, "/items")

    assert status == "200 OK"
    assert [item["name"] for item in listing] == [f"item {n}" for n in range(wsgi.PAGE + 50, 50, -1)]


def test_items_an_older_release_adds_after_the_backfill_do_not_stop_the_contract(run_module, postgres, database, tmp_path):
    """v1.0.0 hosts add items with a name only while v1.1.0 rolls out; the
    contract of v1.2.0 makes the title required and drops the name."""
    releases = ROOT / "examples" / "releases"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for source in [*MIGRATIONS.glob("*.yml"), *(releases / "v1.1.0" / "migrations").glob("*.yml"),
                   *(releases / "v1.2.0" / "migrations").glob("*.yml")]:
        (migrations / source.name).write_text(source.read_text())

    def migrate(phase: str, release: str) -> None:
        result = run_module("db_migrate", {**postgres.args(database), "migrations_dir": str(migrations), "phase": phase,
                                           "release": release, "oldest_live_release": release})
        assert not result.get("failed"), result["msg"]

    # closing, not the connection's own with: that would hold a transaction open.
    with contextlib.closing(postgres.connect(database, autocommit=True)) as conn, conn.cursor() as cur:
        migrate("expand", "v1.1.0")
        migrate("backfill", "v1.1.0")
        cur.execute("INSERT INTO items (name) VALUES ('added by v1.0.0')")

        migrate("contract", "v1.2.0")

        cur.execute("SELECT title FROM items")
        assert cur.fetchall() == [("added by v1.0.0",)]


def test_a_database_that_does_not_answer_is_named(wsgi, monkeypatch):
    monkeypatch.setitem(wsgi.CONFIG["database"], "port", 1)
    status, health = get(wsgi, "/healthz")
    assert status.startswith("503") and "schema" not in health["checks"]
