#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_ledger
short_description: Record a deploy, rollback or switch in the environment's ledger, and read it back
description:
  - The ledger is an append-only file of JSON lines in O(path) on the environment's state host. Each
    entry says who did what, when, from what to what, how, with which outcome and why.
  - An entry with C(bad=true) marks its release bad; rollbacks never pick a bad release by default.
  - With O(entry) the module appends it; without, it only reads. Either way it returns the newest
    O(limit) entries and what they say about releases.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Reads the ledger; does not append.
options:
  path:
    description: The folder holding the ledger (and the deploy lock).
    type: path
    default: /var/lib/phoenix/deploy
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
contract_point:
  description:
    - The C(contract_point) of the newest successful entry that has one (a contract migration records the
      release it was safe from). No release older than it can run on the schema. Empty when none.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils import deploy_state


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/var/lib/phoenix/deploy"},
            "entry": {"type": "dict"},
            "limit": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    path, entry = module.params["path"], module.params["entry"]
    result = {"changed": False}
    try:
        if entry and not module.check_mode:
            result["entry"] = deploy_state.append(path, entry)
        entries = deploy_state.read_ledger(path)
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"cannot use the ledger in {path}: {error}")
    result["changed"] = bool(entry)
    module.exit_json(entries=entries[-module.params["limit"]:] if module.params["limit"] > 0 else [],
                     **deploy_state.summary(entries), **result)


if __name__ == "__main__":
    main()
