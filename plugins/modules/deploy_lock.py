#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: Take, release or break an environment's deploy lock
description:
  - The lock is a row in the environment's state database O(db) (on its database host), inserted
    atomically, so that of two concurrent deploys exactly one gets it. The other fails at once, naming who
    holds the lock, since when, and for what. Backups and WAL archiving carry it with the database.
  - A lock is released with the O(token) that took it. A lock that outlived its deploy (a killed
    controller) stays until someone breaks it on purpose with O(force=true).
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
  - phoenix.deploy.postgres
attributes:
  check_mode:
    support: full
    description: Reports whether the lock could be taken or released; writes nothing.
options:
  db:
    description: The environment's state database, which holds the lock and the ledger.
    type: str
    required: false
    default: phoenix
  state:
    description: V(locked) takes the lock, V(unlocked) releases or breaks it.
    type: str
    choices: [locked, unlocked]
    default: locked
  holder:
    description: Who takes the lock, e.g. C(alice@laptop).
    type: str
  details:
    description: What the holder is doing (action, release, environment), kept in the lock for others to read.
    type: dict
    default: {}
  token:
    description: With O(state=unlocked), the token returned when the lock was taken.
    type: str
  force:
    description: With O(state=unlocked), break the lock whoever holds it.
    type: bool
    default: false
seealso:
  - module: phoenix.deploy.deploy_ledger
"""

EXAMPLES = r"""
- name: Take the deploy lock
  phoenix.deploy.deploy_lock:
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}"
    details: {action: deploy, release: v1.2.0}
  register: lock

- name: Release it
  phoenix.deploy.deploy_lock:
    state: unlocked
    token: "{{ lock.token }}"

- name: Break a stale lock
  phoenix.deploy.deploy_lock:
    state: unlocked
    force: true
"""

RETURN = r"""
token:
  description: The token that releases the lock taken.
  returned: when O(state=locked) and the lock was taken
  type: str
holder:
  description: The lock's document (holder, since, details) after a take, or the one removed or broken.
  returned: when there is one
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils import deploy_state, postgres


def without_token(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "token"}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **postgres.state_argument_spec(),
            "state": {"type": "str", "choices": ["locked", "unlocked"], "default": "locked"},
            "holder": {"type": "str"},
            "details": {"type": "dict", "default": {}},
            "token": {"type": "str", "no_log": True},
            "force": {"type": "bool", "default": False},
        },
        required_if=[("state", "locked", ("holder",))],
        supports_check_mode=True,
    )
    params = module.params
    conn = postgres.connect(module, "deploy_lock")
    try:
        deploy_state.ensure_schema(conn)
        held = deploy_state.read_lock(conn)
        if params["state"] == "locked":
            if held is not None:
                module.fail_json(msg=f"the deploy lock is held by {deploy_state.describe(held)}; "
                                     f"if that run is dead, break the lock on purpose (./deploy <env> unlock)",
                                 holder=without_token(held))
            if module.check_mode:
                module.exit_json(changed=True)
            taken = deploy_state.acquire(conn, {**params["details"], "holder": params["holder"]})
            module.exit_json(changed=True, token=taken["token"], holder=without_token(taken))
        if held is None:
            module.exit_json(changed=False)
        if not params["force"] and held.get("token") != params["token"]:
            module.fail_json(msg=f"the deploy lock is held by {deploy_state.describe(held)}, not by this run; "
                                 "break it only on purpose (force)", holder=without_token(held))
        if not module.check_mode:
            deploy_state.release(conn, None if params["force"] else params["token"])
    except deploy_state.LockHeld as error:
        module.fail_json(msg=f"the deploy lock is held by {deploy_state.describe(error.args[0])}",
                         holder=without_token(error.args[0]))
    except postgres.psycopg2.Error as error:
        module.fail_json(msg=f"cannot use the deploy lock in database {params['db']}: {str(error).strip()}")
    finally:
        conn.close()
    module.exit_json(changed=True, holder=without_token(held))


if __name__ == "__main__":
    main()
