#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: live_color
short_description: Read or switch the color HAProxy sends traffic to, at runtime
description:
  - The phoenix.deploy.haproxy role routes every request to the backend named by the key C(live) of a map
    file. This module reads that entry through HAProxy's admin socket, and switches it with one runtime API
    call (C(set map)), with no reload. Requests in flight finish where they started.
  - The new color is also written to the map file, so that a reload or restart keeps it.
  - It refuses to switch to a color with no server UP, naming each server's state, unless
    O(require_up=false).
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Reads the live color and reports whether it would change; switches nothing.
options:
  color:
    description: The color to switch to. Omit it to only read the live color.
    type: str
    choices: [blue, green]
  socket:
    description: Path of HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  map_file:
    description: The map file HAProxy's frontend reads the live color from.
    type: path
    default: /etc/haproxy/live-color.map
  require_up:
    description: Refuse to switch to a color none of whose servers is UP.
    type: bool
    default: true
seealso:
  - module: phoenix.deploy.canary_judge
"""

EXAMPLES = r"""
- name: Send all traffic to green
  phoenix.deploy.live_color:
    color: green
  register: switch

- name: Switch back (an instant rollback)
  phoenix.deploy.live_color:
    color: "{{ switch.previous }}"

- name: Which color is live?
  phoenix.deploy.live_color:
  register: live
"""

RETURN = r"""
color:
  description: The live color after the module ran.
  returned: always
  type: str
  sample: green
previous:
  description: The live color before the module ran.
  returned: always
  type: str
  sample: blue
servers:
  description:
    - When only reading, the status of every server of the V(blue) and V(green) backends, as HAProxy's
      C(show stat) names it (V(UP), V(DOWN), V(MAINT), V(DRAIN), V(no check), ...), by backend and server.
    - A server put in maintenance is out of service whatever its health checks say.
    - After a switch, as they were read just before it (a switch changes no server's status).
  returned: unless the module failed
  type: dict
  sample: {blue: {blue1: UP, blue2: MAINT}, green: {green1: UP}}
maintenance:
  description:
    - The servers of both backends in maintenance (a status that starts with V(MAINT)), sorted.
    - After a switch, as they were read just before it.
  returned: unless the module failed
  type: list
  elements: str
  sample: [blue2]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.phoenix.deploy.plugins.module_utils.haproxy import KEY, HAProxyError, command, live_state, read_live, servers_down


def persist(map_file: str, color: str) -> None:
    """Write the map file atomically, keeping its mode."""
    mode = os.stat(map_file).st_mode & 0o777 if os.path.exists(map_file) else 0o644
    write_atomically(map_file, f"{KEY} {color}\n", mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "color": {"type": "str", "choices": ["blue", "green"]},
            "socket": {"type": "path", "default": "/run/haproxy/admin.sock"},
            "map_file": {"type": "path", "default": "/etc/haproxy/live-color.map"},
            "require_up": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    socket_path, map_file, wanted = module.params["socket"], module.params["map_file"], module.params["color"]
    try:
        state = live_state(socket_path, map_file)
        previous = state["color"]
        if wanted is None or wanted == previous:
            module.exit_json(changed=False, previous=previous, **state)
        if module.params["require_up"]:
            down = servers_down(state["servers"][wanted])
            if down:
                module.fail_json(msg=f"refusing to switch to {wanted}: none of its servers is UP ({down})", color=previous, previous=previous)
        if not module.check_mode:
            answer = command(socket_path, f"set map {map_file} {KEY} {wanted}").strip()
            if answer:
                module.fail_json(msg=f"HAProxy refused to switch to {wanted}: {answer}", color=previous, previous=previous)
            persist(map_file, wanted)
            now = read_live(socket_path, map_file)
            if now != wanted:
                module.fail_json(msg=f"asked HAProxy to switch to {wanted}, it serves {now}", color=now, previous=previous)
    except HAProxyError as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg=f"switched at runtime but could not write {map_file}: {error}", color=wanted, previous=previous)
    module.exit_json(changed=True, color=wanted, previous=previous, servers=state["servers"], maintenance=state["maintenance"])


if __name__ == "__main__":
    main()
