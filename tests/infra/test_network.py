"""Who may talk to whom, tried from every host of the inventory."""

from __future__ import annotations

import json

import pytest
import testinfra

# From the hosts that are neither the database (pg_hba refuses it; see
# test_postgresql) nor unknown: the load balancer and the app hosts.
phoenix_group = ["lb", "app"]


@pytest.fixture(scope="module")
def database(host, request):
    """What the database host recorded: its addresses and port."""
    db = host.ansible.get_variables()["groups"]["db"][0]
    db_host = testinfra.get_host(
        f"ansible://{db}", ansible_inventory=request.config.option.ansible_inventory, connection="ansible"
    )
    return db, json.loads(db_host.file("/etc/ansible/facts.d/phoenix_postgresql.fact").content_string)


def reaches(host, address: str, port: int) -> bool:
    attempt = host.run(
        "python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)' %s %s",
        address, str(port),
    )
    return attempt.rc == 0


def test_only_app_hosts_reach_postgresql(host, database):
    _db, pg = database
    expected = "app" in host.ansible.get_variables()["group_names"]
    assert reaches(host, pg["listen_addresses"][0], pg["port"]) is expected
