"""The application runs its current release as an unprivileged user."""

from __future__ import annotations

import json

import pytest

from conftest import http_get

phoenix_group = "app"


@pytest.fixture(scope="module")
def app(recorded):
    return recorded("app")


def test_the_service_runs_as_the_application_user(host, app, assert_service_up):
    assert_service_up(app["name"])
    masters = host.process.filter(user=app["user"], comm="gunicorn")
    assert masters, f"no gunicorn process of user {app['user']}"
    assert not host.process.filter(user="root", comm="gunicorn")


def test_current_is_a_complete_release(host, app):
    current = host.file(f"{app['root']}/current")
    assert current.is_symlink
    assert current.linked_to == f"{app['root']}/releases/{app['release']}"
    assert host.file(f"{app['root']}/releases/{app['release']}/.complete").exists
    assert host.file(f"{app['root']}/releases/{app['release']}/venv/bin/gunicorn").exists


def test_it_answers_with_its_release_and_a_healthy_database(host, app):
    version = json.loads(http_get(host, f"http://127.0.0.1:{app['port']}/version"))
    assert version == {"version": app["release"]}
    health = json.loads(http_get(host, f"http://127.0.0.1:{app['port']}/healthz"))
    assert health["checks"] == {"database": "ok", "schema": "ok"}


def test_the_previous_release_is_kept_for_a_rollback(host, app):
    for release in [app["previous"], *app["protected_releases"]]:
        if release:
            assert host.file(f"{app['root']}/releases/{release}/.complete").exists, release


def test_the_host_builds_nothing(host):
    """Releases arrive as wheels: an app host carries no compiler."""
    for package in ("build-essential", "gcc", "python3-dev"):
        assert not host.package(package).is_installed, package


def test_settings_are_readable_by_the_application_only(host, app):
    settings = host.file(f"{app['root']}/shared/config.json")
    assert settings.mode == 0o640
    assert settings.group == app["user"]
