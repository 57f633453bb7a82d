"""phoenix.deploy.backend_server against a real HAProxy: a drained server
gets no new requests, weights share the traffic, and ready waits for UP."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter


def versions(proxy, count: int) -> Counter:
    seen = Counter()
    for _ in range(count):
        with urllib.request.urlopen(f"{proxy.url}/version", timeout=5) as answer:
            seen[json.load(answer)["version"]] += 1
    return seen


def pair(http_app, haproxy, check=False):
    return haproxy({"one": http_app(version="one"), "two": http_app(version="two")}, check=check)


def test_a_drained_server_takes_no_new_requests(run_module, http_app, haproxy):
    proxy = pair(http_app, haproxy)

    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "drain"})

    assert result["changed"] and result["after"]["status"] == "DRAIN"
    assert versions(proxy, 20) == Counter({"two": 20})
    again = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "drain"})
    assert again["changed"] is False


def test_ready_with_a_weight_shares_the_traffic(run_module, http_app, haproxy):
    proxy = pair(http_app, haproxy)
    run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "drain"})

    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one",
                                           "state": "ready", "weight": 1})
    run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "two", "weight": 3})

    assert result["changed"] and result["after"]["weight"] == 1
    assert versions(proxy, 40) == Counter({"one": 10, "two": 30})


def test_ready_waits_until_health_checks_pass(run_module, http_app, haproxy):
    proxy = pair(http_app, haproxy, check=True)
    run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "maint"})

    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "ready"})

    assert result["before"]["status"].startswith("MAINT")
    assert result["after"]["status"] == "UP"


def test_a_server_that_never_comes_up_fails_naming_it(run_module, http_app, haproxy):
    app = http_app(version="one")
    proxy = haproxy({"one": app, "two": http_app(version="two")}, check=True)
    app.close()
    time.sleep(1)  # HAProxy's checks (every 200 ms) see it down
    run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "maint"})

    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one",
                                           "state": "ready", "timeout": 1.5})

    assert result["failed"] and "app/one" in result["msg"] and "to be UP" in result["msg"]


def test_check_mode_changes_nothing(run_module, http_app, haproxy):
    proxy = pair(http_app, haproxy)
    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "one", "state": "drain"},
                        check_mode=True)
    assert result["changed"] and versions(proxy, 10) == Counter({"one": 5, "two": 5})


def test_an_unknown_server_is_named(run_module, http_app, haproxy):
    proxy = pair(http_app, haproxy)
    result = run_module("backend_server", {"socket": proxy.socket, "backend": "app", "server": "three", "weight": 5})
    assert result["failed"] and result["msg"] == "HAProxy has no server three in backend app"
