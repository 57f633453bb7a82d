"""The phoenix.deploy.host_address filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.phoenix.deploy.plugins.filter.hosts import host_address

HOSTVARS = {
    "named": {"phoenix_address": "10.0.0.5", "ansible_facts": {"default_ipv4": {"address": "172.17.0.2"}}},
    "gathered": {"ansible_facts": {"default_ipv4": {"address": "172.17.0.3"}}},
    "unknown": {},
}


def test_the_inventory_address_wins_over_facts():
    assert host_address("named", HOSTVARS) == "10.0.0.5"


def test_facts_give_the_address_otherwise():
    assert host_address("gathered", HOSTVARS) == "172.17.0.3"


def test_a_host_with_no_known_address_is_named():
    with pytest.raises(AnsibleFilterError, match="no address known for 'unknown'"):
        host_address("unknown", HOSTVARS)


def test_a_host_outside_the_inventory_is_named():
    with pytest.raises(AnsibleFilterError, match="'ghost' is not a host of this inventory"):
        host_address("ghost", HOSTVARS)
