"""phoenix.deploy.health_check against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
import time

from tests.support.postgres import free_port


def test_a_healthy_server_passes_with_latency_statistics(run_module, http_app):
    app = http_app()

    result = run_module("health_check", {"urls": [f"{app.url}/healthz"], "probes": 5, "interval": 0})

    assert result["healthy"] is True
    assert result["rounds"] == 1
    report = result["urls"][f"{app.url}/healthz"]
    assert report["success_rate"] == 1.0
    assert report["latency_ms"]["count"] == 5
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["max"]
    assert len(report["samples_ms"]) == 5
    assert app.behaviour.requests == 5


def test_expected_json_field_is_checked(run_module, http_app):
    app = http_app(version="v1.0.0")

    result = run_module("health_check", {
        "urls": [f"{app.url}/version"], "probes": 3, "interval": 0, "deadline": 0,
        "expect_json": {"version": "v1.1.0"},
    })

    assert result["failed"] is True
    assert "JSON version='v1.0.0' (expected 'v1.1.0')" in result["msg"]
    assert f"{app.url}/version: 0/3 succeeded" in result["msg"]


def test_nested_json_field_and_body_pattern(run_module, http_app):
    app = http_app()

    result = run_module("health_check", {
        "urls": [f"{app.url}/healthz"], "probes": 2, "interval": 0,
        "expect_json": {"checks.database": "ok"}, "expect_body": '"status": "ok"',
    })

    assert result["healthy"] is True


def test_unexpected_status_is_reported_per_url(run_module, http_app):
    good, bad = http_app(), http_app()

    result = run_module("health_check", {
        "urls": [f"{good.url}/healthz", f"{bad.url}/nowhere"], "probes": 2, "interval": 0, "deadline": 0,
    })

    assert result["failed"] is True
    assert result["urls"][f"{good.url}/healthz"]["success_rate"] == 1.0
    assert result["urls"][f"{bad.url}/nowhere"]["failures"] == [{"reason": "status 404 (expected 200)", "count": 2}]
    assert f"{bad.url}/nowhere: 0/2 succeeded, 2x status 404" in result["msg"]
    assert good.url not in result["msg"]


def test_a_share_of_failures_is_measured_against_the_minimum_rate(run_module, http_app):
    app = http_app(fail_every=4)

    args = {"urls": [f"{app.url}/healthz"], "probes": 20, "interval": 0, "deadline": 0}
    strict = run_module("health_check", args)
    lenient = run_module("health_check", {**args, "min_success_rate": 0.7})

    assert strict["failed"] is True
    assert strict["urls"][f"{app.url}/healthz"]["success_rate"] == 0.75
    assert lenient["healthy"] is True


def test_a_slow_answer_counts_as_a_timeout(run_module, http_app):
    app = http_app(delay=0.5)

    result = run_module("health_check", {
        "urls": [f"{app.url}/healthz"], "probes": 2, "interval": 0, "timeout": 0.1, "deadline": 0,
    })

    assert result["failed"] is True
    assert "timeout after 0.1s" in result["msg"]


def test_nothing_listening_is_a_clear_failure(run_module):
    url = f"http://127.0.0.1:{free_port()}/healthz"

    result = run_module("health_check", {"urls": [url], "probes": 1, "deadline": 0})

    assert result["failed"] is True
    assert f"{url}: 0/1 succeeded, 1x no answer" in result["msg"]
    assert "Connection refused" in result["msg"]


def test_it_retries_until_healthy_within_the_deadline(run_module, http_app):
    app = http_app(version="v1.0.0")

    def release_lands():
        time.sleep(1.0)
        app.behaviour.version = "v1.1.0"

    threading.Thread(target=release_lands).start()
    result = run_module("health_check", {
        "urls": [f"{app.url}/version"], "probes": 2, "interval": 0, "deadline": 20,
        "expect_json": {"version": "v1.1.0"},
    })

    assert result["healthy"] is True
    assert result["rounds"] > 1


def test_bad_arguments_are_named(run_module):
    assert "probes must be at least 1" in run_module("health_check", {"urls": ["http://127.0.0.1:1/"], "probes": 0})["msg"]
    assert "min_success_rate must be between 0 and 1" in run_module(
        "health_check", {"urls": ["http://127.0.0.1:1/"], "min_success_rate": 2})["msg"]
    assert "expect_body is not a regular expression" in run_module(
        "health_check", {"urls": ["http://127.0.0.1:1/"], "expect_body": "("})["msg"]
