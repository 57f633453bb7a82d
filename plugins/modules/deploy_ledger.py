#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_ledger
short_description: Record a deploy, rollback or switch in the environment's ledger, and read it back
description:
  - The ledger is an append-only table of JSON documents in the environment's state database O(db), on its
    database host, so that backups and WAL archiving carry it; a trigger refuses any change to a written
    entry. Each entry says who did what, when, from what to what, how, with which outcome and why.
  - After appending, the module closes the current WAL segment and waits up to O(archive_wait) seconds until
    it is archived (to the backup host), so that the entry survives the loss of the database host.
  - An entry with C(bad=true) marks its release bad; rollbacks never pick a bad release by default.
  - With O(entry) the module appends it; without, it only reads. Either way it returns the newest
    O(limit) entries and what they say about releases.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
  - phoenix.deploy.postgres
attributes:
  check_mode:
    support: full
    description: Reads the ledger; does not append.
options:
  db:
    description: The environment's state database, which holds the ledger and the lock.
    type: str
    required: false
    default: phoenix
  archive_wait:
    description:
      - Seconds to wait, after appending, until the entry's WAL segment is archived. 0 does not wait.
      - Nothing is waited for when the server does not archive WAL.
    type: float
    default: 10
  entry:
    description:
      - The entry to append, e.g. C(action), C(release), C(from), C(strategy), C(steps), C(outcome),
        C(reason), C(who), C(started), C(duration_s), C(bad).
      - The module adds C(id) and C(recorded).
    type: dict
  limit:
    description: How many of the newest entries to return.
    type: int
    default: 20
  unlock_token:
    description:
      - The token of the deploy lock this run took (M(phoenix.deploy.deploy_lock)). With O(entry), the entry is
        appended and that lock released in one transaction, so that a run records its outcome and ends its hold
        in one call.
      - The entry is appended whoever holds the lock. When another run holds it, it is left alone and the module
        fails, naming the holder; when it is free, there is nothing to release.
    type: str
seealso:
  - module: phoenix.deploy.deploy_lock
"""

EXAMPLES = r"""
- name: Record a failed canary and mark its release bad
  phoenix.deploy.deploy_ledger:
    entry:
      action: deploy
      release: v1.1.1
      strategy: canary
      outcome: failed
      reason: canary error rate 0.25 is above 0.01
      bad: true

- name: Read the history
  phoenix.deploy.deploy_ledger:
  register: ledger
"""

RETURN = r"""
entries:
  description: The newest O(limit) entries, oldest first (with the one appended).
  returned: always
  type: list
  elements: dict
entry:
  description: The entry as appended.
  returned: when O(entry) was given and not in check mode
  type: dict
bad_releases:
  description: Releases some entry marked bad.
  returned: always
  type: list
  elements: str
good_releases:
  description: Releases that were deployed or rolled back to successfully and are not bad, newest last.
  returned: always
  type: list
  elements: str
live_history:
  description:
    - The releases that went live, oldest first, as a stack. A deploy pushes its release; a rollback pops
      back to its release. The last is the live release, the one before it is where a rollback goes.
  returned: always
  type: list
  elements: str
live_color:
  description: The color the newest successful run left live (its C(to_color)); empty when none ever did.
  returned: always
  type: str
maintenance:
  description:
    - The app hosts the newest entry that says so (its C(maintenance)) left in maintenance in HAProxy, out of
      traffic until a deploy or a rebuild brings them back. A new load balancer starts with them there.
  returned: always
  type: list
  elements: str
unlocked:
  description: Whether the lock O(unlock_token) took was released.
  returned: when O(unlock_token) and O(entry) were given and not in check mode
  type: bool
lock:
  description: The deploy lock's holder (who, since when, for what), without its token; empty when it is free.
  returned: always
  type: dict
archived:
  description:
    - Whether the appended entry reached the WAL archive within O(archive_wait); null when the server does not
      archive WAL or nothing was appended.
  returned: always
  type: bool
contract_point:
  description:
    - The C(contract_point) of the newest successful entry that has one (a contract migration records the
      release it was safe from). No release older than it can run on the schema. Empty when none.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils import deploy_state, postgres


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **postgres.state_argument_spec(),
            "entry": {"type": "dict"},
            "limit": {"type": "int", "default": 20},
            "archive_wait": {"type": "float", "default": 10},
            "unlock_token": {"type": "str", "no_log": True},
        },
        supports_check_mode=True,
    )
    params, entry = module.params, module.params["entry"]
    result = {"changed": bool(entry), "archived": None}
    other_holder = None
    conn = postgres.connect(module, "deploy_ledger")
    try:
        deploy_state.ensure_schema(conn)
        if entry and not module.check_mode:
            if params["unlock_token"]:
                result["entry"], result["unlocked"], other_holder = deploy_state.append_and_release(
                    conn, entry, params["unlock_token"])
            else:
                result["entry"] = deploy_state.append(conn, entry)
            if params["archive_wait"] > 0:
                result["archived"] = deploy_state.archive(conn, params["archive_wait"])
        read = deploy_state.read(conn, params["limit"])
    except (postgres.psycopg2.Error, OSError, ValueError) as error:
        module.fail_json(msg=f"cannot use the ledger in database {params['db']}: {str(error).strip()}")
    finally:
        conn.close()
    if other_holder is not None:
        module.fail_json(msg=f"entry {result['entry']['id']} is recorded, but the deploy lock is held by "
                             f"{deploy_state.describe(other_holder)}, not by this run: it was left alone",
                         **read, **result)
    if result["archived"] is False:
        module.warn(f"entry {result['entry']['id']} is not in the WAL archive after {params['archive_wait']} s: "
                    "until archiving catches up it lives on the database host only")
    module.exit_json(**read, **result)


if __name__ == "__main__":
    main()
