"""phoenix.deploy.deploy_lock and deploy_ledger on a real folder: one of two
concurrent takers wins, the loser learns who holds the lock, and the ledger
only ever grows."""

from __future__ import annotations

import json
import multiprocessing

from ansible_collections.phoenix.deploy.plugins.module_utils import deploy_state


def take(path: str, who: str, results) -> None:
    try:
        deploy_state.acquire(path, {"holder": who})
        results.put(who)
    except deploy_state.LockHeld:
        results.put(None)


def test_of_concurrent_takers_exactly_one_gets_the_lock(tmp_path):
    results = multiprocessing.Queue()
    takers = [multiprocessing.Process(target=take, args=(str(tmp_path), f"op{n}", results)) for n in range(8)]
    for taker in takers:
        taker.start()
    for taker in takers:
        taker.join()
    winners = [w for w in (results.get() for _ in takers) if w]
    assert len(winners) == 1
    assert deploy_state.read_lock(str(tmp_path))["holder"] == winners[0]


def test_a_held_lock_fails_naming_its_holder(run_module, tmp_path):
    first = run_module("deploy_lock", {"path": str(tmp_path), "holder": "alice@laptop",
                                       "details": {"action": "deploy", "release": "v1.2.0"}})
    assert first["changed"] and first["token"]

    second = run_module("deploy_lock", {"path": str(tmp_path), "holder": "bob@desk"})

    assert second["failed"]
    assert "alice@laptop since " in second["msg"] and "(deploy v1.2.0)" in second["msg"]
    assert second["holder"]["holder"] == "alice@laptop"
    assert "token" not in second["holder"]


def test_only_the_taker_releases_and_breaking_is_explicit(run_module, tmp_path):
    taken = run_module("deploy_lock", {"path": str(tmp_path), "holder": "alice"})

    wrong = run_module("deploy_lock", {"path": str(tmp_path), "state": "unlocked", "token": "not-hers"})
    assert wrong["failed"] and "held by alice" in wrong["msg"]
    assert deploy_state.read_lock(str(tmp_path)) is not None

    broken = run_module("deploy_lock", {"path": str(tmp_path), "state": "unlocked", "force": True})
    assert broken["changed"] and broken["holder"]["holder"] == "alice"
    assert deploy_state.read_lock(str(tmp_path)) is None

    again = run_module("deploy_lock", {"path": str(tmp_path), "holder": "bob"})
    released = run_module("deploy_lock", {"path": str(tmp_path), "state": "unlocked", "token": again["token"]})
    assert released["changed"] and deploy_state.read_lock(str(tmp_path)) is None
    assert taken["token"] != again["token"]


def test_check_mode_takes_no_lock(run_module, tmp_path):
    result = run_module("deploy_lock", {"path": str(tmp_path), "holder": "alice"}, check_mode=True)
    assert result["changed"] and deploy_state.read_lock(str(tmp_path)) is None


def test_the_ledger_appends_numbers_and_summarises(run_module, tmp_path):
    path = str(tmp_path)
    for release, outcome, bad in [("v1.0.0", "succeeded", False), ("v1.1.0", "succeeded", False),
                                  ("v1.1.1", "failed", True), ("v1.0.0", "succeeded", False)]:
        run_module("deploy_ledger", {"path": path, "entry": {"action": "deploy", "release": release,
                                                              "outcome": outcome, "bad": bad}})
    refused = run_module("deploy_ledger", {"path": path, "entry": {"action": "deploy", "outcome": "refused"}})

    assert refused["entry"]["id"] == 5
    assert [e["id"] for e in refused["entries"]] == [1, 2, 3, 4, 5]
    assert refused["bad_releases"] == ["v1.1.1"]
    assert refused["good_releases"] == ["v1.1.0", "v1.0.0"]
    assert refused["live_history"] == ["v1.0.0", "v1.1.0", "v1.0.0"]
    lines = (tmp_path / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3, 4, 5]

    assert refused["contract_point"] == ""
    run_module("deploy_ledger", {"path": path, "entry": {"action": "migrate", "outcome": "refused", "contract_point": "v1.3.0"}})
    run_module("deploy_ledger", {"path": path, "entry": {"action": "migrate", "outcome": "succeeded", "contract_point": "v1.1.0"}})
    assert run_module("deploy_ledger", {"path": path})["contract_point"] == "v1.1.0"

    read = run_module("deploy_ledger", {"path": path, "limit": 2})
    assert read["changed"] is False and [e["id"] for e in read["entries"]] == [6, 7]


def test_rollbacks_pop_the_live_history():
    entries = [{"action": a, "release": r, "outcome": o} for a, r, o in [
        ("deploy", "v1.0.0", "succeeded"), ("deploy", "v1.1.0", "succeeded"), ("deploy", "v1.1.1", "failed"),
        ("deploy", "v1.2.0", "succeeded"), ("deploy", "v1.2.0", "succeeded"), ("rollback", "v1.1.0", "succeeded"),
    ]]
    assert deploy_state.live_history(entries) == ["v1.0.0", "v1.1.0"]
    entries.append({"action": "rollback", "release": "v0.9.0", "outcome": "succeeded"})
    assert deploy_state.live_history(entries) == ["v1.0.0", "v1.1.0", "v0.9.0"]


def test_check_mode_appends_nothing(run_module, tmp_path):
    result = run_module("deploy_ledger", {"path": str(tmp_path), "entry": {"action": "deploy"}}, check_mode=True)
    assert result["changed"] and result["entries"] == []
    assert not (tmp_path / "ledger.jsonl").exists()
