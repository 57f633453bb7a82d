# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: host_address
short_description: The address other hosts reach an inventory host at
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
description:
  - Returns the host's C(phoenix_address) when the inventory sets one, else the address of its default
    IPv4 route from its facts.
  - Fails, naming the host, when neither is known (its facts were not gathered).
positional: _input, hostvars
options:
  _input:
    description: An inventory host name.
    type: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Addresses of the app hosts
  ansible.builtin.debug:
    msg: "{{ groups['app'] | map('phoenix.deploy.host_address', hostvars) | list }}"
"""

RETURN = r"""
_value:
  description: An IP address.
  type: str
"""

from ansible.errors import AnsibleFilterError


def host_address(name: str, hostvars) -> str:
    if name not in hostvars:
        raise AnsibleFilterError(f"host_address: '{name}' is not a host of this inventory")
    variables = hostvars[name]
    if variables.get("phoenix_address"):
        return variables["phoenix_address"]
    address = variables.get("ansible_facts", {}).get("default_ipv4", {}).get("address")
    if not address:
        raise AnsibleFilterError(
            f"host_address: no address known for '{name}': set phoenix_address in the inventory or gather its facts"
        )
    return address


class FilterModule:
    def filters(self):
        return {"host_address": host_address}
