"""HAProxy serves through the live color, checks every server, and keeps
its runtime state across reloads. Read-only: safe against production."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import http_get

phoenix_group = "lb"


@pytest.fixture(scope="module")
def lb(recorded):
    return recorded("haproxy")


def runtime(host, lb, command: str) -> str:
    return host.check_output("echo %s | socat -t 5 stdio unix-connect:%s", command, lb["admin_socket"])


def stats(host, lb) -> dict[tuple[str, str], dict[str, str]]:
    text = runtime(host, lb, "show stat")
    return {(r["pxname"], r["svname"]): r for r in csv.DictReader(io.StringIO(text.removeprefix("# ")))}


def live_color(host, lb) -> str:
    entries = [line.split() for line in runtime(host, lb, f"show map {lb['map_file']}").splitlines()]
    [color] = [entry[2] for entry in entries if len(entry) == 3 and entry[1] == "live"]
    return color


def test_haproxy_runs_a_valid_configuration(host, assert_service_up):
    assert_service_up("haproxy")
    assert host.run("haproxy -c -q -f /etc/haproxy/haproxy.cfg").rc == 0


def test_frontend_listens_and_stats_only_on_loopback(host, lb):
    assert host.socket(f"tcp://0.0.0.0:{lb['frontend_port']}").is_listening
    assert host.socket(f"tcp://127.0.0.1:{lb['stats_port']}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{lb['stats_port']}").is_listening


def test_backends_are_the_recorded_hosts_and_all_are_up(host, lb):
    current = stats(host, lb)
    for color, hosts in lb["backends"].items():
        servers = {sv for (px, sv) in current if px == color and sv not in ("FRONTEND", "BACKEND")}
        assert servers == set(hosts)
        for server in hosts:
            row = current[(color, server)]
            # "* " before the status: a check is running; what follows is the last one's result.
            assert row["check_status"].removeprefix("* ").startswith("L7OK"), \
                f"{color}/{server}: {row['status']} {row['check_status']}"


def test_requests_go_to_the_live_color_only(host, lb):
    color = live_color(host, lb)
    other = next(c for c in lb["backends"] if c != color)
    before = stats(host, lb)
    for _ in range(6):
        http_get(host, f"http://127.0.0.1:{lb['frontend_port']}/healthz")
    after = stats(host, lb)

    def served(backend):
        return int(after[(backend, "BACKEND")]["stot"]) - int(before[(backend, "BACKEND")]["stot"])

    assert served(color) >= 6
    assert served(other) == 0


def test_the_live_color_is_written_down_for_reloads(host, lb):
    assert host.file(lb["map_file"]).content_string.split() == ["live", live_color(host, lb)]


def test_a_reload_goes_through_the_script_that_keeps_runtime_state(host):
    unit = host.check_output("systemctl cat haproxy")
    reload_steps = [line for line in unit.splitlines() if line.startswith("ExecReload=") and line != "ExecReload="]
    assert reload_steps[-1] == "ExecReload=/usr/local/sbin/phoenix-haproxy-reload $MAINPID"
    assert host.file("/usr/local/sbin/phoenix-haproxy-reload").mode == 0o755
    assert not host.file("/usr/local/sbin/phoenix-haproxy-save-state").exists
