"""PostgreSQL serves the application database to the app hosts only."""

from __future__ import annotations

import pytest

phoenix_group = "db"


@pytest.fixture(scope="module")
def pg(recorded):
    return recorded("postgresql")


def test_postgresql_runs(host, assert_service_up):
    assert_service_up("postgresql@15-main")


def test_it_listens_only_on_the_declared_addresses(host, pg):
    for address in ["127.0.0.1", *pg["listen_addresses"]]:
        assert host.socket(f"tcp://{address}:{pg['port']}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{pg['port']}").is_listening


def test_the_application_database_belongs_to_the_application_role(host, pg):
    owner = host.check_output(
        "runuser -u postgres -- psql -Atc \"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'\"",
        pg["app_database"],
    )
    assert owner == pg["app_user"]


def test_a_host_that_is_not_an_app_host_is_rejected(host, pg):
    """The database host itself is no app host: pg_hba rejects it before any
    password is asked for."""
    address = pg["listen_addresses"][0]
    attempt = host.run(
        "PGPASSWORD=not-the-password PGCONNECT_TIMEOUT=5 psql -h %s -p %s -U %s -d %s -c 'SELECT 1'",
        address, str(pg["port"]), pg["app_user"], pg["app_database"],
    )
    assert attempt.rc != 0
    assert "pg_hba.conf rejects connection" in attempt.stderr


def test_pg_hba_admits_exactly_the_app_hosts(host, pg):
    rules = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    admitted = {line.split()[3].removesuffix("/32") for line in rules.splitlines() if line.startswith("host ") and "reject" not in line}
    assert admitted == set(pg["client_addresses"])


def test_the_firewall_admits_only_the_app_hosts_to_postgresql(host, pg):
    ruleset = host.check_output("nft list table inet phoenix")
    [rule] = [line for line in ruleset.splitlines() if f"dport {pg['port']}" in line]
    for address in pg["client_addresses"]:
        assert address in rule
    assert "saddr" in rule, "postgresql must not be open to every address"


def psql_as_root(host, database: str, query: str) -> str:
    """What root (Ansible's modules) gets from the local socket, as postgres."""
    return host.check_output("psql -U postgres -d %s -Atc %s", database, query)


def test_root_reaches_the_state_database_as_postgres(host, pg):
    """The deploy ledger and lock live in the state database; the modules,
    run as root, reach it over the socket as postgres and no one else."""
    assert psql_as_root(host, pg["state_database"], "SELECT current_user") == "postgres"
    assert host.run("runuser -u nobody -- psql -U postgres -d %s -Atc 'SELECT 1'", pg["state_database"]).rc != 0


def test_wal_is_archived_to_the_backup_repository(host, pg):
    settings = dict(line.split("|") for line in psql_as_root(
        host, "postgres", "SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command')").splitlines())
    if pg["pgbackrest_stanza"]:
        assert settings["archive_mode"] == "on"
        assert settings["archive_command"] == f"pgbackrest --stanza={pg['pgbackrest_stanza']} archive-push %p"
    else:
        assert settings["archive_mode"] == "off"
