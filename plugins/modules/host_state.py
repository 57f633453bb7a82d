#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state
short_description: Read what one host of an environment knows of its state, so that all hosts answer at once
description:
  - One read for every kind of host, so that a pipeline run reads the whole environment in one task, every
    host at the same time, rather than one kind of host after another.
  - On an app host, O(release_link) gives the release it runs. On a load balancer, O(socket) gives the live
    color and each server's status, as M(phoenix.deploy.live_color) reads them. On the host of the state
    database, O(ledger) gives the ledger and the lock, as M(phoenix.deploy.deploy_ledger) reads them.
  - With O(address), any host gives its own address, as the setup module's C(default_ipv4.address) gives it, so
    that a run that reads the environment need not gather facts to learn where its hosts are.
  - On the spool host, O(spool_dir) gives what earlier runs that lost the database host left there for the next
    run to deliver, their ledger entries and lock tokens.
  - Each part is read only when its option is given; a host may give several.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
  - phoenix.deploy.postgres
attributes:
  check_mode:
    support: full
    description: Only reads.
options:
  release_link:
    description: The application's C(current) link. Its target's name is the release the host runs.
    type: path
  socket:
    description: HAProxy's admin socket, to read the live color and the servers.
    type: path
  map_file:
    description: The map that holds the live color (with O(socket)).
    type: path
    default: /etc/haproxy/live-color.map
  ledger:
    description: Read the ledger and the lock in the state database O(db).
    type: bool
    default: false
  db:
    description: The environment's state database (with O(ledger)).
    type: str
    required: false
    default: phoenix
  limit:
    description: How many of the newest ledger entries to return (with O(ledger)).
    type: int
    default: 0
  spool_dir:
    description: The spool folder, whose C(*.json) documents are read (none when it is missing).
    type: path
  address:
    description:
      - Give the host's address, the IPv4 address of the interface its default route leaves by. It is read on the
        host; nothing is sent.
    type: bool
    default: false
seealso:
  - module: phoenix.deploy.live_color
  - module: phoenix.deploy.deploy_ledger
"""

EXAMPLES = r"""
- name: Read the environment, every host at once
  phoenix.deploy.host_state:
    release_link: "{{ '/srv/app/current' if inventory_hostname in groups['app'] else omit }}"
    socket: "{{ '/run/haproxy/admin.sock' if inventory_hostname in groups['lb'] else omit }}"
    ledger: "{{ inventory_hostname == groups['db'][0] }}"
  register: state
"""

RETURN = r"""
release:
  description: The release the C(current) link points to; empty when there is none.
  returned: when O(release_link) is given
  type: str
live:
  description: The live color (C(color)), each color's servers and their status (C(servers)), and the servers in
    maintenance (C(maintenance)).
  returned: when O(socket) is given
  type: dict
address:
  description: The host's IPv4 address on the interface of its default route; empty when it has no default route.
  returned: when O(address) is true
  type: str
  sample: 172.18.0.3
spool:
  description: The spooled documents, by file name in order, each with its C(path) and its C(entry) and C(token).
  returned: when O(spool_dir) is given
  type: list
  elements: dict
ledger:
  description: The newest O(limit) entries (C(entries)), the lock's holder without its token (C(lock)), and what
    the ledger says about releases, as M(phoenix.deploy.deploy_ledger) returns them.
  returned: when O(ledger) is true
  type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils import addresses, deploy_state, postgres
from ansible_collections.phoenix.deploy.plugins.module_utils.haproxy import HAProxyError, live_state


def read_spool(folder: str) -> list[dict]:
    """The spooled documents (an entry and a token each), oldest name first."""
    if not os.path.isdir(folder):
        return []
    spooled = []
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".json")):
        path = os.path.join(folder, name)
        with open(path) as handle:
            document = json.load(handle)
        if not isinstance(document, dict):
            raise ValueError(f"{path} is not a spooled run (an object with an entry and a token)")
        spooled.append({"path": path, "entry": document.get("entry", {}), "token": document.get("token", "")})
    return spooled


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **postgres.state_argument_spec(),
            "release_link": {"type": "path"},
            "socket": {"type": "path"},
            "map_file": {"type": "path", "default": "/etc/haproxy/live-color.map"},
            "ledger": {"type": "bool", "default": False},
            "limit": {"type": "int", "default": 0},
            "address": {"type": "bool", "default": False},
            "spool_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    params, result = module.params, {"changed": False}
    if params["release_link"]:
        link = params["release_link"]
        result["release"] = os.path.basename(os.path.realpath(link)) if os.path.islink(link) else ""
    if params["address"]:
        result["address"] = addresses.default_ipv4()
    if params["spool_dir"]:
        try:
            result["spool"] = read_spool(params["spool_dir"])
        except (OSError, ValueError) as error:
            module.fail_json(msg=f"cannot read the spool {params['spool_dir']}: {error}", **result)
    if params["socket"]:
        try:
            result["live"] = live_state(params["socket"], params["map_file"])
        except HAProxyError as error:
            module.fail_json(msg=str(error), **result)
    if params["ledger"]:
        conn = postgres.connect(module, "host_state")
        try:
            deploy_state.ensure_schema(conn)
            result["ledger"] = deploy_state.read(conn, params["limit"])
        except (postgres.psycopg2.Error, OSError, ValueError) as error:
            module.fail_json(msg=f"cannot read the ledger in database {params['db']}: {str(error).strip()}", **result)
        finally:
            conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
