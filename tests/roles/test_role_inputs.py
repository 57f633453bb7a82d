"""Bad input to the server roles stops before anything changes, with a
message that names the variable."""

from __future__ import annotations

import pytest

from conftest import assert_stopped_naming
from tests.support.ansible import ansible_playbook

BAD_INPUTS = [
    pytest.param("haproxy", {"haproxy_initial_color": "purple"}, "haproxy_initial_color", id="unknown-initial-color"),
    pytest.param("haproxy", {"haproxy_backends": {"blue": [], "purple": []}}, "haproxy_backends", id="unknown-color"),
    pytest.param("haproxy", {"haproxy_backends": {"blue": ["ghost1"], "green": []}}, "haproxy_backends.blue names ghost1",
                 id="backend-host-not-in-inventory"),
    pytest.param("haproxy", {"haproxy_stats_port": 80}, "haproxy_stats_port", id="port-collision"),
    pytest.param("postgresql", {"postgresql_app_password": "molecule-only-password", "postgresql_port": 22},
                 "postgresql_port", id="postgresql-port-on-sshd"),
    pytest.param("postgresql", {"postgresql_app_password": ""}, "postgresql_app_password", id="no-database-password"),
    pytest.param("postgresql", {"postgresql_app_password": "molecule-only-password", "postgresql_client_hosts": ["ghost1"]},
                 "postgresql_client_hosts names ghost1", id="client-not-in-inventory"),
    pytest.param("haproxy", {"haproxy_live_color": "purple"}, "haproxy_live_color", id="unknown-live-color"),
    pytest.param("postgresql", {"postgresql_app_password": "molecule-only-password", "postgresql_state_database": "app"},
                 "postgresql_state_database", id="state-database-is-the-app-database"),
    pytest.param("postgresql", {"postgresql_app_password": "molecule-only-password", "postgresql_pgbackrest_stanza": "no spaces"},
                 "postgresql_pgbackrest_stanza", id="bad-stanza"),
    pytest.param("pgbackrest", {"pgbackrest_repo_host": "host", "pgbackrest_db_host": "host"}, "pgbackrest_repo_host",
                 id="repository-on-the-database-host"),
    pytest.param("pgbackrest", {"pgbackrest_repo_host": "", "pgbackrest_db_host": "host"}, "add a host to the 'backup' group",
                 id="no-backup-host"),
    pytest.param("pgbackrest", {"pgbackrest_repo_host": "ghost1", "pgbackrest_db_host": "host", "pgbackrest_retention_full": 0},
                 "pgbackrest_repo_host ('ghost1')", id="backup-host-not-in-inventory"),
    pytest.param("app", {"app_release": "v9.9.9", "app_artifact": "/nonexistent/shop-v9.9.9.tar.gz",
                         "app_database_password": "molecule-only-password"}, "app_artifact", id="missing-artifact"),
]


@pytest.mark.parametrize(("role", "variables", "named"), BAD_INPUTS)
def test_bad_role_input_stops_before_anything_changes(phoenix_host, pristine, apply_role, role, variables, named):
    assert_stopped_naming(apply_role(role, {"haproxy_backends": {"blue": [], "green": []}, **variables}), named)
    assert phoenix_host.filesystem_changes() == pristine


def test_a_missing_vault_password_stops_site_before_any_host_is_touched():
    """No vault id for staging: the first play says which vault, and no host
    is contacted (the staging hosts do not even exist here)."""
    run = ansible_playbook("-i", "inventories/staging", "playbooks/site.yml")

    assert run.rc != 0
    assert "inventories/staging/group_vars/all/vault.yml) cannot be opened" in run.output
    assert "--vault-id staging@prompt" in run.output
    assert "UNREACHABLE" not in run.output
    assert "Gathering Facts" not in run.output
