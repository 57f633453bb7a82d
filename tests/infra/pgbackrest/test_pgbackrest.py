"""Backups live off the database host, WAL archiving works, and the backups
are fresh: on molecule's hosts or any environment's."""

from __future__ import annotations

import json
import time

import pytest

phoenix_group = ["db", "backup"]


@pytest.fixture(scope="module")
def pgb(recorded):
    return recorded("pgbackrest")


def pgbackrest(host, pgb, *args: str) -> str:
    """pgbackrest as the account that runs it on this host."""
    command = "runuser -u %s -- pgbackrest --stanza=%s " + " ".join(["%s"] * len(args))
    return host.check_output(command, pgb["user"], pgb["stanza"], *args)


def test_archiving_works(host, pgb):
    """pgBackRest's own check: the WAL is switched and the segment must
    arrive in the repository."""
    pgbackrest(host, pgb, "check")


def test_the_repository_is_not_on_the_database_host(host, pgb):
    assert pgb["repo_host"] != pgb["db_host"]
    config = host.file("/etc/pgbackrest.conf").content_string
    if pgb["side"] == "database":
        assert "repo1-path" not in config
        [repo_host] = [line.split("=", 1)[1] for line in config.splitlines() if line.startswith("repo1-host=")]
        own = host.check_output("hostname -I").split() + ["127.0.0.1", "localhost"]
        assert repo_host not in own, f"repo1-host {repo_host} is this database host"
        assert not host.file(pgb["repo_path"]).exists or not host.file(f"{pgb['repo_path']}/backup").exists
    else:
        assert host.file(f"{pgb['repo_path']}/backup/{pgb['stanza']}").is_directory


def test_the_backup_timers_are_active(host, pgb):
    for timer in pgb["timers"]:
        unit = host.service(timer)
        assert unit.is_enabled and unit.is_running, f"{timer} is not active"


def test_the_newest_backup_is_recent(host, pgb):
    """Read on either side: the database host asks the repository over SSH."""
    [stanza] = json.loads(pgbackrest(host, pgb, "--output=json", "info"))
    assert stanza["backup"], f"stanza {pgb['stanza']} has no backup"
    age_hours = (time.time() - stanza["backup"][-1]["timestamp"]["stop"]) / 3600
    assert age_hours <= pgb["max_backup_age_hours"], f"the newest backup is {age_hours:.0f} h old"


def test_each_side_trusts_only_its_peer(host, pgb):
    home = host.user(pgb["user"]).home
    keys = [line for line in host.file(f"{home}/.ssh/authorized_keys").content_string.splitlines() if line.strip()]
    assert len(keys) == 1 and "pgbackrest@" in keys[0]
