#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backend_server
short_description: Drain, enable or weigh an HAProxy server at runtime, and wait until it is so
description:
  - Changes one server of one backend through HAProxy's admin socket, with no reload.
  - V(drain) stops sending it new requests and waits until the requests it has have finished.
    V(ready) lets it take requests again and waits until HAProxy's health checks call it C(UP).
    V(maint) takes it out altogether.
  - O(weight) sets its share of the backend's traffic relative to the other servers (0 to 256).
  - The state and weight set at runtime survive a reload of the phoenix.deploy.haproxy role (server-state
    file).
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Reads the server and reports whether it would change; changes nothing.
options:
  backend:
    description: The backend, e.g. C(blue).
    type: str
    required: true
  server:
    description: The server's name in the backend (the inventory host name).
    type: str
    required: true
  state:
    description: What the server should be. Omit it to change only the weight.
    type: str
    choices: [ready, drain, maint]
  weight:
    description: The server's weight, 0 to 256.
    type: int
  socket:
    description: Path of HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  wait:
    description: Wait until a drained server has no requests left, or a ready server is C(UP).
    type: bool
    default: true
  timeout:
    description: Seconds to wait before failing.
    type: float
    default: 60
seealso:
  - module: phoenix.deploy.live_color
  - module: phoenix.deploy.canary_judge
"""

EXAMPLES = r"""
- name: Take blue1 out of traffic, letting its requests finish
  phoenix.deploy.backend_server:
    backend: blue
    server: blue1
    state: drain

- name: Put it back, with a tenth of blue2's traffic
  phoenix.deploy.backend_server:
    backend: blue
    server: blue1
    state: ready
    weight: 11
"""

RETURN = r"""
before:
  description: The server's status, weight and current sessions before the change.
  returned: always
  type: dict
  sample: {status: UP, weight: 100, sessions: 3, check: L7OK}
after:
  description: The same, after the change (and the wait).
  returned: always
  type: dict
  sample: {status: DRAIN, weight: 100, sessions: 0, check: L7OK}
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.haproxy import HAProxyError, command, show_stat

# The admin state each `state` asks for, as `set server ... state` names it.
ADMIN_STATE = {"ready": "ready", "drain": "drain", "maint": "maint"}
# Last-check results that mean the server answered (empty: checks disabled).
PASSING_CHECKS = ("", "L4OK", "L6OK", "L7OK", "L7OKC")


def server(socket_path: str, backend: str, name: str) -> dict:
    for row in show_stat(socket_path):
        if row["pxname"] == backend and row["svname"] == name:
            return {"status": row["status"], "weight": int(row["weight"] or 0), "check": row.get("check_status", ""),
                    "sessions": int(row["scur"] or 0) + int(row["qcur"] or 0)}
    raise HAProxyError(f"HAProxy has no server {name} in backend {backend}")


def already(state: str | None, weight: int | None, current: dict) -> bool:
    status = current["status"]
    state_ok = (state is None or (state == "drain" and status == "DRAIN")
                or (state == "maint" and status.startswith("MAINT"))
                or (state == "ready" and not status.startswith(("DRAIN", "MAINT"))))
    return state_ok and (weight is None or weight == current["weight"])


def done(state: str | None, current: dict) -> bool:
    if state == "drain":
        return current["sessions"] == 0
    if state == "ready":
        # Leaving maintenance, HAProxy calls a server UP before its next
        # check: UP counts only with a passing last check.
        return current["status"] == "no check" or (current["status"] == "UP" and current["check"] in PASSING_CHECKS)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "backend": {"type": "str", "required": True},
            "server": {"type": "str", "required": True},
            "state": {"type": "str", "choices": list(ADMIN_STATE)},
            "weight": {"type": "int"},
            "socket": {"type": "path", "default": "/run/haproxy/admin.sock"},
            "wait": {"type": "bool", "default": True},
            "timeout": {"type": "float", "default": 60},
        },
        required_one_of=[("state", "weight")],
        supports_check_mode=True,
    )
    p = module.params
    sock, backend, name, state, weight = p["socket"], p["backend"], p["server"], p["state"], p["weight"]
    if weight is not None and not 0 <= weight <= 256:
        module.fail_json(msg=f"weight must be 0 to 256, got {weight}")
    try:
        before = server(sock, backend, name)
        changed = not already(state, weight, before)
        if module.check_mode:
            module.exit_json(changed=changed, before=before, after=before)
        commands = []
        if weight is not None and weight != before["weight"]:
            commands.append(f"set server {backend}/{name} weight {weight}")
        if state is not None:
            commands.append(f"set server {backend}/{name} state {ADMIN_STATE[state]}")
        for line in commands:
            answer = command(sock, line).strip()
            if answer:
                module.fail_json(msg=f"HAProxy refused '{line}': {answer}", before=before)
        after = server(sock, backend, name)
        deadline = time.monotonic() + p["timeout"]
        while p["wait"] and not done(state, after):
            if time.monotonic() >= deadline:
                what = "its requests to finish" if state == "drain" else "it to be UP"
                module.fail_json(msg=f"waited {p['timeout']:g} s for {what} on {backend}/{name}; it is {after['status']} "
                                     f"with {after['sessions']} requests", before=before, after=after)
            time.sleep(0.2)
            after = server(sock, backend, name)
    except HAProxyError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=changed, before=before, after=after)


if __name__ == "__main__":
    main()
