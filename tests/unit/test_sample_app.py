"""The sample application's /healthz speaks for the release: healthy only when
the database answers and holds the schema the release needs."""

from __future__ import annotations

import io
import json
import sys

import pytest

from tests.support import ROOT

MIGRATIONS = ROOT / "examples" / "app" / "migrations"


@pytest.fixture
def wsgi(postgres, database, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "app"))
    sys.modules.pop("shop.wsgi", None)
    from shop import wsgi as module

    monkeypatch.setattr(module, "CONFIG", {"database": {"host": postgres.host, "port": postgres.port, "name": database,
                                                        "user": postgres.user}})
    yield module
    sys.modules.pop("shop.wsgi", None)


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
    migrated = run_module("db_migrate", {**postgres.args(database), "migrations_dir": str(MIGRATIONS),
                                         "phase": "expand", "release": "v1.0.0"})
    assert not migrated.get("failed"), migrated

    status, health = get(wsgi, "/healthz")

    assert status == "200 OK"
    assert health["checks"] == {"database": "ok", "schema": "ok"}


def test_a_database_that_does_not_answer_is_named(wsgi, monkeypatch):
    monkeypatch.setitem(wsgi.CONFIG["database"], "port", 1)
    status, health = get(wsgi, "/healthz")
    assert status.startswith("503") and "schema" not in health["checks"]
