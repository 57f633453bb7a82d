"""phoenix.deploy.deploy_lock and deploy_ledger on a real PostgreSQL: one of
two concurrent takers wins, the loser learns who holds the lock, and the
ledger only ever grows."""

from __future__ import annotations

import contextlib
import json
import multiprocessing

import psycopg2
import pytest

from ansible_collections.phoenix.deploy.plugins.module_utils import deploy_state


@pytest.fixture
def state(postgres, database):
    """The connection arguments of a fresh state database."""
    return {"db": database, "login_host": postgres.host, "port": postgres.port}


@pytest.fixture
def conn(postgres, database):
    with contextlib.closing(postgres.connect(database)) as connection:
        deploy_state.ensure_schema(connection, legacy_ledger="/nonexistent")
        yield connection


def take(args: dict, who: str, results) -> None:
    connection = psycopg2.connect(dbname=args["db"], host=args["login_host"], port=args["port"], user="postgres")
    try:
        deploy_state.acquire(connection, {"holder": who})
        results.put(who)
    except deploy_state.LockHeld:
        results.put(None)
    finally:
        connection.close()


def test_of_concurrent_takers_exactly_one_gets_the_lock(state, conn):
    results = multiprocessing.Queue()
    takers = [multiprocessing.Process(target=take, args=(state, f"op{n}", results)) for n in range(8)]
    for taker in takers:
        taker.start()
    for taker in takers:
        taker.join()
    winners = [w for w in (results.get() for _ in takers) if w]
    assert len(winners) == 1
    assert deploy_state.read_lock(conn)["holder"] == winners[0]


def test_a_held_lock_fails_naming_its_holder(run_module, state):
    first = run_module("deploy_lock", {**state, "holder": "alice@laptop", "details": {"action": "deploy", "release": "v1.2.0"}})
    assert first["changed"] and first["token"]

    second = run_module("deploy_lock", {**state, "holder": "bob@desk"})

    assert second["failed"]
    assert "alice@laptop since " in second["msg"] and "(deploy v1.2.0)" in second["msg"]
    assert second["holder"]["holder"] == "alice@laptop"
    assert "token" not in second["holder"]


def test_only_the_taker_releases_and_breaking_is_explicit(run_module, state, conn):
    taken = run_module("deploy_lock", {**state, "holder": "alice"})

    wrong = run_module("deploy_lock", {**state, "state": "unlocked", "token": "not-hers"})
    assert wrong["failed"] and "held by alice" in wrong["msg"]
    assert deploy_state.read_lock(conn) is not None

    broken = run_module("deploy_lock", {**state, "state": "unlocked", "force": True})
    assert broken["changed"] and broken["holder"]["holder"] == "alice"
    assert deploy_state.read_lock(conn) is None

    again = run_module("deploy_lock", {**state, "holder": "bob"})
    released = run_module("deploy_lock", {**state, "state": "unlocked", "token": again["token"]})
    assert released["changed"] and deploy_state.read_lock(conn) is None
    assert taken["token"] != again["token"]


def test_check_mode_takes_no_lock(run_module, state, conn):
    result = run_module("deploy_lock", {**state, "holder": "alice"}, check_mode=True)
    assert result["changed"] and deploy_state.read_lock(conn) is None


def test_a_database_that_cannot_be_reached_is_named(run_module, state):
    result = run_module("deploy_lock", {**state, "db": "no_such_state", "holder": "alice"})
    assert result["failed"] and "cannot connect to database 'no_such_state'" in result["msg"]


def test_recording_with_the_token_releases_the_run_s_lock_in_the_same_call(run_module, state, conn):
    taken = run_module("deploy_lock", {**state, "holder": "alice"})

    result = run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "succeeded"},
                                          "unlock_token": taken["token"], "archive_wait": 0})

    assert result["changed"] and result["unlocked"] is True and result["lock"] == {}
    assert deploy_state.read_lock(conn) is None
    assert [e["outcome"] for e in deploy_state.read_ledger(conn)] == ["succeeded"]


def test_recording_with_another_run_s_token_records_and_leaves_its_lock(run_module, state, conn):
    run_module("deploy_lock", {**state, "holder": "bob"})

    result = run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "failed"},
                                          "unlock_token": "not-this-run", "archive_wait": 0})

    assert result["failed"] and "entry 1 is recorded, but the deploy lock is held by bob" in result["msg"]
    assert deploy_state.read_lock(conn)["holder"] == "bob"
    assert [e["outcome"] for e in deploy_state.read_ledger(conn)] == ["failed"]


def test_recording_with_a_token_when_the_lock_was_broken_records_and_releases_nothing(run_module, state, conn):
    taken = run_module("deploy_lock", {**state, "holder": "alice"})
    run_module("deploy_lock", {**state, "state": "unlocked", "force": True})

    result = run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "succeeded"},
                                          "unlock_token": taken["token"], "archive_wait": 0})

    assert not result.get("failed") and result["unlocked"] is False
    assert len(deploy_state.read_ledger(conn)) == 1


def test_recording_with_the_token_in_check_mode_changes_nothing(run_module, state, conn):
    taken = run_module("deploy_lock", {**state, "holder": "alice"})

    run_module("deploy_ledger", {**state, "entry": {"action": "deploy"}, "unlock_token": taken["token"]}, check_mode=True)

    assert deploy_state.read_lock(conn)["holder"] == "alice" and deploy_state.read_ledger(conn) == []


def test_the_ledger_appends_numbers_and_summarises(run_module, state):
    for release, outcome, bad, color in [("v1.0.0", "succeeded", False, "blue"), ("v1.1.0", "succeeded", False, "green"),
                                         ("v1.1.1", "failed", True, ""), ("v1.0.0", "succeeded", False, "blue")]:
        run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "release": release, "outcome": outcome,
                                                        "bad": bad, "to_color": color}})
    refused = run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "refused"}})

    assert refused["entry"]["id"] == 5
    assert [e["id"] for e in refused["entries"]] == [1, 2, 3, 4, 5]
    assert refused["bad_releases"] == ["v1.1.1"]
    assert refused["good_releases"] == ["v1.1.0", "v1.0.0"]
    assert refused["live_history"] == ["v1.0.0", "v1.1.0", "v1.0.0"]
    assert refused["live_color"] == "blue"
    assert refused["archived"] is None, "the test server does not archive WAL"

    assert refused["contract_point"] == ""
    run_module("deploy_ledger", {**state, "entry": {"action": "migrate", "outcome": "refused", "contract_point": "v1.3.0"}})
    run_module("deploy_ledger", {**state, "entry": {"action": "migrate", "outcome": "succeeded", "contract_point": "v1.1.0"}})
    assert run_module("deploy_ledger", state)["contract_point"] == "v1.1.0"

    read = run_module("deploy_ledger", {**state, "limit": 2})
    assert read["changed"] is False and [e["id"] for e in read["entries"]] == [6, 7]


def test_a_new_environment_has_no_live_color(run_module, state):
    assert run_module("deploy_ledger", state)["live_color"] == ""


def test_the_hosts_in_maintenance_are_those_the_newest_run_that_looked_left(run_module, state):
    assert run_module("deploy_ledger", state)["maintenance"] == []
    run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "failed", "maintenance": ["green1"]}})
    run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "refused"}})
    assert run_module("deploy_ledger", state)["maintenance"] == ["green1"]
    run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "succeeded", "maintenance": []}})
    assert run_module("deploy_ledger", state)["maintenance"] == []


def test_the_ledger_refuses_to_change_a_written_entry(run_module, state, conn):
    run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "outcome": "succeeded"}})
    for statement in ("UPDATE phoenix_ledger SET entry = '{}'", "DELETE FROM phoenix_ledger", "TRUNCATE phoenix_ledger"):
        with pytest.raises(psycopg2.Error, match="append-only"), conn, conn.cursor() as cur:
            cur.execute(statement)
    assert len(deploy_state.read_ledger(conn)) == 1


def test_status_reads_the_lock_with_the_ledger(run_module, state):
    run_module("deploy_lock", {**state, "holder": "alice", "details": {"action": "migrate"}})
    read = run_module("deploy_ledger", state)
    assert read["lock"]["holder"] == "alice" and read["lock"]["action"] == "migrate"
    assert "token" not in read["lock"]


def test_a_file_ledger_of_old_is_taken_over_once(postgres, database, tmp_path):
    legacy = tmp_path / "ledger.jsonl"
    legacy.write_text("".join(json.dumps({"id": n, "action": "deploy", "release": f"v1.{n}.0", "outcome": "succeeded"}) + "\n"
                              for n in (1, 2)))
    with contextlib.closing(postgres.connect(database)) as connection:
        deploy_state.ensure_schema(connection, legacy_ledger=str(legacy))
        deploy_state.ensure_schema(connection, legacy_ledger=str(legacy))
        assert [e["release"] for e in deploy_state.read_ledger(connection)] == ["v1.1.0", "v1.2.0"]
        assert deploy_state.append(connection, {"action": "deploy"})["id"] == 3


def test_rollbacks_pop_the_live_history():
    entries = [{"action": a, "release": r, "outcome": o} for a, r, o in [
        ("deploy", "v1.0.0", "succeeded"), ("deploy", "v1.1.0", "succeeded"), ("deploy", "v1.1.1", "failed"),
        ("deploy", "v1.2.0", "succeeded"), ("deploy", "v1.2.0", "succeeded"), ("rollback", "v1.1.0", "succeeded"),
    ]]
    assert deploy_state.live_history(entries) == ["v1.0.0", "v1.1.0"]
    entries.append({"action": "rollback", "release": "v0.9.0", "outcome": "succeeded"})
    assert deploy_state.live_history(entries) == ["v1.0.0", "v1.1.0", "v0.9.0"]


def test_check_mode_appends_nothing(run_module, state, conn):
    result = run_module("deploy_ledger", {**state, "entry": {"action": "deploy"}}, check_mode=True)
    assert result["changed"] and result["entries"] == []
    assert deploy_state.read_ledger(conn) == []


@pytest.mark.parametrize(("command", "archived"), [("cp %p {archive}/%f", True), ("false", False)])
def test_an_entry_waits_for_the_wal_archive(run_module, command, archived):
    """After appending, the entry's WAL segment is switched out and the
    module waits until the archiver has it (or says it has not)."""
    import shutil
    import tempfile
    from pathlib import Path

    from tests.support.postgres import temporary_postgres

    # Where the postgres user can write: not under pytest's root-only folder.
    archive = Path(tempfile.mkdtemp(prefix="phoenix-archive-"))
    archive.chmod(0o777)
    settings = {"wal_level": "replica", "archive_mode": "on", "archive_command": f"'{command.format(archive=archive)}'"}
    with temporary_postgres(settings) as server:
        args = {"db": "postgres", "login_host": server.host, "port": server.port, "archive_wait": 3}
        result = run_module("deploy_ledger", {**args, "entry": {"action": "deploy", "outcome": "succeeded"}})
    archived_files = list(archive.iterdir())
    shutil.rmtree(archive)
    assert result["archived"] is archived
    assert bool(archived_files) is archived
