"""phoenix.deploy.host_state: each kind of host's part of the environment's
state, read as live_color and deploy_ledger read it, against a real HAProxy
and a real PostgreSQL; only the parts asked for."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.fixture
def state(postgres, database):
    return {"db": database, "login_host": postgres.host, "port": postgres.port}


def test_an_app_host_names_the_release_its_current_link_points_to(run_module, tmp_path):
    (tmp_path / "releases" / "v1.2.0").mkdir(parents=True)
    (tmp_path / "current").symlink_to("releases/v1.2.0")

    result = run_module("host_state", {"release_link": str(tmp_path / "current")})

    assert result["release"] == "v1.2.0"
    assert "live" not in result and "ledger" not in result and result["changed"] is False


def test_an_app_host_without_a_release_names_none(run_module, tmp_path):
    assert run_module("host_state", {"release_link": str(tmp_path / "current")})["release"] == ""


def test_a_load_balancer_reads_as_live_color_reads_it(run_module, http_app, haproxy):
    blue, green = http_app(version="blue-release"), http_app(version="green-release")
    proxy = haproxy(backends={"blue": {"blue1": blue}, "green": {"green1": green}}, live="green")
    run_module("backend_server", {"socket": proxy.socket, "backend": "blue", "server": "blue1", "state": "maint"})

    result = run_module("host_state", {"socket": proxy.socket, "map_file": proxy.map_file})
    read = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file})

    assert result["live"] == {key: read[key] for key in ("color", "servers", "maintenance")}
    assert result["live"]["color"] == "green" and result["live"]["maintenance"] == ["blue1"]


def test_a_load_balancer_without_a_live_color_fails_naming_the_map(run_module, http_app, haproxy):
    proxy = haproxy(backends={"blue": {"blue1": http_app()}, "green": {"green1": http_app()}})

    result = run_module("host_state", {"socket": proxy.socket, "map_file": proxy.map_file})

    assert result["failed"] and f"the map {proxy.map_file} has no 'live' entry" in result["msg"]


def test_the_state_database_reads_as_deploy_ledger_reads_it(run_module, state):
    run_module("deploy_ledger", {**state, "entry": {"action": "deploy", "release": "v1.0.0", "outcome": "succeeded",
                                                    "to_color": "blue"}, "archive_wait": 0})
    run_module("deploy_lock", {**state, "holder": "alice", "details": {"action": "deploy"}})

    result = run_module("host_state", {**state, "ledger": True, "limit": 5})
    read = run_module("deploy_ledger", {**state, "limit": 5})

    assert result["ledger"] == {key: value for key, value in read.items() if key not in ("changed", "archived", "invocation")}
    assert result["ledger"]["lock"]["holder"] == "alice" and "token" not in result["ledger"]["lock"]
    assert [e["release"] for e in result["ledger"]["entries"]] == ["v1.0.0"]


def test_a_state_database_that_cannot_be_read_is_named(run_module, state):
    result = run_module("host_state", {**state, "db": "no_such_state", "ledger": True})
    assert result["failed"] and "no_such_state" in result["msg"]


def test_any_host_gives_its_address_as_ip_gives_the_default_route_s(run_module):
    route = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True, text=True,
                                      check=True).stdout)
    assert route, "this test wants a machine with a default route"
    shown = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", route[0]["dev"]], capture_output=True,
                                      text=True, check=True).stdout)

    result = run_module("host_state", {"address": True})

    assert result["address"] == shown[0]["addr_info"][0]["local"]
    assert "release" not in result and "live" not in result and "ledger" not in result


def test_no_address_unless_asked(run_module, tmp_path):
    assert "address" not in run_module("host_state", {"release_link": str(tmp_path / "current")})


def test_the_spool_host_gives_what_earlier_runs_left_oldest_first(run_module, tmp_path):
    (tmp_path / "20261202T100000000000.json").write_text(json.dumps({"entry": {"outcome": "failed"}, "token": "b"}))
    (tmp_path / "20261202T090000000000.json").write_text(json.dumps({"entry": {"outcome": "refused"}, "token": ""}))
    (tmp_path / "notes.txt").write_text("not a spooled run")

    result = run_module("host_state", {"spool_dir": str(tmp_path)})

    assert result["spool"] == [
        {"path": str(tmp_path / "20261202T090000000000.json"), "entry": {"outcome": "refused"}, "token": ""},
        {"path": str(tmp_path / "20261202T100000000000.json"), "entry": {"outcome": "failed"}, "token": "b"},
    ]


def test_a_missing_spool_holds_nothing_and_a_broken_one_is_named(run_module, tmp_path):
    assert run_module("host_state", {"spool_dir": str(tmp_path / "none")})["spool"] == []
    (tmp_path / "20261202T090000000000.json").write_text("{cut short")

    result = run_module("host_state", {"spool_dir": str(tmp_path)})

    assert result["failed"] and f"cannot read the spool {tmp_path}" in result["msg"]
