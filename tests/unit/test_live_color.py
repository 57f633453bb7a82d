"""phoenix.deploy.live_color against a real HAProxy routing by a color map."""

from __future__ import annotations

import json
import time
import urllib.request


def serving(proxy) -> str:
    with urllib.request.urlopen(f"{proxy.url}/version", timeout=5) as answer:
        return json.load(answer)["version"]


def colors(http_app, haproxy):
    blue, green = http_app(version="blue-release"), http_app(version="green-release")
    return haproxy(backends={"blue": {"blue1": blue}, "green": {"green1": green}}, live="blue")


def test_reading_the_live_color_changes_nothing(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file})

    assert {k: result[k] for k in ("changed", "color", "previous")} == {"changed": False, "color": "blue", "previous": "blue"}
    assert serving(proxy) == "blue-release"


def test_reading_names_each_servers_status_and_a_server_in_maintenance(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)
    run_module("backend_server", {"socket": proxy.socket, "backend": "green", "server": "green1", "state": "maint"})

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file})

    assert result["servers"]["blue"]["blue1"] in ("UP", "no check")
    assert result["servers"]["green"]["green1"].startswith("MAINT")
    assert result["maintenance"] == ["green1"]


def test_switching_moves_traffic_at_once_and_is_written_down(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)
    assert serving(proxy) == "blue-release"

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "green"})

    assert result["changed"] is True
    assert (result["previous"], result["color"]) == ("blue", "green")
    assert {serving(proxy) for _ in range(10)} == {"green-release"}
    with open(proxy.map_file) as handle:
        assert handle.read() == "live green\n"


def test_a_switch_names_the_servers_in_maintenance_as_a_read_does(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)
    run_module("backend_server", {"socket": proxy.socket, "backend": "blue", "server": "blue1", "state": "maint"})

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "green"})
    read = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file})

    assert result["changed"] is True and result["color"] == "green"
    assert result["maintenance"] == read["maintenance"] == ["blue1"]
    assert result["servers"] == read["servers"]


def test_switching_to_the_live_color_changes_nothing(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)
    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "blue"})
    assert result["changed"] is False


def test_check_mode_reports_the_switch_and_makes_none(run_module, http_app, haproxy):
    proxy = colors(http_app, haproxy)

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "green"}, check_mode=True)

    assert result["changed"] is True
    assert serving(proxy) == "blue-release"
    with open(proxy.map_file) as handle:
        assert handle.read() == "live blue\n"


def test_a_map_without_the_live_entry_is_a_clear_failure(run_module, http_app, haproxy):
    proxy = haproxy({"app1": http_app()})
    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "green"})
    assert result["failed"] is True
    assert "has no 'live' entry" in result["msg"]


def test_an_unknown_color_is_refused(run_module):
    result = run_module("live_color", {"color": "purple"})
    assert result["failed"] is True
    assert "color" in result["msg"] and "purple" in result["msg"]


def test_it_refuses_a_color_with_no_server_up(run_module, http_app, haproxy):
    from ansible_collections.phoenix.deploy.plugins.module_utils.haproxy import server_stats, show_stat
    from tests.support.postgres import free_port

    blue = http_app(version="blue-release")
    dead = type("Dead", (), {"port": free_port()})()  # nothing listens there
    proxy = haproxy(backends={"blue": {"blue1": blue}, "green": {"green1": dead}}, live="blue", check=True)
    deadline = time.monotonic() + 20
    while server_stats(show_stat(proxy.socket), "green")["green1"]["status"] != "DOWN":
        assert time.monotonic() < deadline, "HAProxy never marked green1 DOWN"
        time.sleep(0.2)

    result = run_module("live_color", {"socket": proxy.socket, "map_file": proxy.map_file, "color": "green"})

    assert result["failed"] is True
    assert "refusing to switch to green: none of its servers is UP (green1: DOWN" in result["msg"]
    assert serving(proxy) == "blue-release"
