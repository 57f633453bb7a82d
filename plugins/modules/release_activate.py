#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_activate
short_description: Make an installed release the one a host runs, with its settings, in one step
description:
  - Writes the release's settings files, points the C(current) link at the release, removes the releases nobody
    can need any more and records the host's release in its local facts, in that order and in one call to the
    host. It leaves the service to the caller, and says what it needs (RV(switched), RV(written)).
  - A file is written only when its content, owner, group or mode differ, through a temporary file renamed over
    it. The link is switched by renaming a new link over the old one, so C(current) always names a release.
  - The release must be complete (C(.complete), written by M(phoenix.deploy.release_install)); otherwise
    nothing is changed. In check mode a release that is not installed yet is taken as installed.
  - Of the releases in C(releases/), the O(keep) newest are kept, and so are the release, the previous one and
    the O(protected) ones; the others are removed.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Reports what it would write, switch and remove; changes nothing.
  diff_mode:
    support: partial
    description: Shows the change of each of O(files); never of O(secret_files).
options:
  root:
    description: The application's folder, which holds C(releases/<release>) and the C(current) link.
    type: path
    required: true
  release:
    description: The release to make current.
    type: str
    required: true
  files:
    description: The settings files, each written when it differs. Their folders must exist.
    type: list
    elements: dict
    default: []
    suboptions: &file
      path:
        description: Where the file goes.
        type: path
        required: true
      content:
        description: What it holds.
        type: str
        required: true
      owner:
        description: Its owner.
        type: str
        default: root
      group:
        description: Its group.
        type: str
        default: root
      mode:
        description: Its mode, in octal.
        type: str
        default: "0644"
  secret_files:
    description:
      - Settings files that hold a secret, as O(files). Their content is kept out of the output and the diff.
    type: list
    elements: dict
    default: []
    suboptions: *file
  keep:
    description: How many of the newest releases are kept (besides the release, the previous one and O(protected)).
    type: int
    default: 3
  protected:
    description: Releases that are never removed.
    type: list
    elements: str
    default: []
  record:
    description:
      - What the host's local facts say of the application, written as JSON to O(record_path) when it differs.
      - The module adds C(previous), the release that ran before, and C(protected_releases), those of
        O(protected) that the host holds.
    type: dict
    default: {}
  record_path:
    description: The local facts file; its folder is made when missing. Nothing is recorded without it.
    type: path
seealso:
  - module: phoenix.deploy.release_install
"""

EXAMPLES = r"""
- name: Make v1.2.0 current, with its settings, and record it
  phoenix.deploy.release_activate:
    root: /srv/shop
    release: v1.2.0
    files:
      - path: /srv/shop/shared/gunicorn.conf.py
        content: "{{ lookup('ansible.builtin.template', 'gunicorn.conf.py.j2') }}"
        group: shop
    secret_files:
      - path: /srv/shop/shared/config.json
        content: "{{ lookup('ansible.builtin.template', 'config.json.j2') }}"
        group: shop
        mode: "0640"
    keep: 3
    record: {name: shop, release: v1.2.0}
    record_path: /etc/ansible/facts.d/phoenix_app.fact
  register: activated
"""

RETURN = r"""
switched:
  description: Whether C(current) was (or would be) pointed at the release.
  returned: always
  type: bool
previous:
  description: The release that ran before; the one recorded earlier when the release was current already.
  returned: always
  type: str
  sample: v1.1.0
written:
  description: The settings files that were (or would be) written.
  returned: always
  type: list
  elements: str
removed:
  description: The releases that were (or would be) removed.
  returned: always
  type: list
  elements: str
recorded:
  description: Whether the local facts were (or would be) written.
  returned: always
  type: bool
"""

import grp
import json
import os
import pwd
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.phoenix.deploy.plugins.module_utils.releases import MARKER, complete


class Refused(Exception):
    pass


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def ids(spec: dict) -> tuple[int, int]:
    try:
        uid = pwd.getpwnam(spec["owner"]).pw_uid
    except KeyError:
        raise Refused(f"{spec['path']}: owner {spec['owner']!r} does not exist on the host") from None
    try:
        gid = grp.getgrnam(spec["group"]).gr_gid
    except KeyError:
        raise Refused(f"{spec['path']}: group {spec['group']!r} does not exist on the host") from None
    return uid, gid


def octal(spec: dict) -> int:
    try:
        return int(str(spec["mode"]), 8)
    except ValueError:
        raise Refused(f"{spec['path']}: mode {spec['mode']!r} is not an octal number") from None


def differs(spec: dict, before: str | None, uid: int, gid: int, mode: int) -> bool:
    if before != spec["content"]:
        return True
    info = os.stat(spec["path"])
    return (info.st_uid, info.st_gid, info.st_mode & 0o7777) != (uid, gid, mode)


def link_target(link: str) -> str | None:
    if not os.path.lexists(link):
        return None
    if not os.path.islink(link):
        raise Refused(f"{link} is not a link; move it away, the release's link goes there")
    return os.readlink(link)


def switch(link: str, target: str) -> None:
    temporary = f"{link}.new"
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(target, temporary)
    os.replace(temporary, link)


def stale(releases_dir: str, keep: int, kept: set[str]) -> list[str]:
    """The releases beyond the `keep` newest (by change time of the folder),
    but for those in `kept`."""
    if not os.path.isdir(releases_dir):
        return []
    folders = [entry for entry in os.scandir(releases_dir) if entry.is_dir(follow_symlinks=False)]
    folders.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime, reverse=True)
    return [entry.name for entry in folders[keep:] if entry.name not in kept]


def activate(module: AnsibleModule) -> dict:
    p = module.params
    root, release = p["root"].rstrip("/"), p["release"]
    releases_dir, link = os.path.join(root, "releases"), os.path.join(root, "current")
    target = os.path.join(releases_dir, release)
    if not complete(target, release) and not module.check_mode:
        raise Refused(f"{release} is not installed in {target} (no {MARKER} naming it); install it first")
    if p["keep"] < 1:
        raise Refused(f"keep must be at least 1, got {p['keep']}")

    # Every file is checked before anything is written.
    plans = []
    for secret, spec in [(False, spec) for spec in p["files"]] + [(True, spec) for spec in p["secret_files"]]:
        if not os.path.isdir(os.path.dirname(spec["path"])):
            raise Refused(f"{spec['path']}: its folder does not exist")
        uid, gid = ids(spec)
        mode = octal(spec)
        before = read_text(spec["path"])
        if differs(spec, before, uid, gid, mode):
            plans.append((spec, secret, before, uid, gid, mode))
    current = link_target(link)
    recorded_before = read_text(p["record_path"]) if p["record_path"] else None
    try:
        earlier = json.loads(recorded_before or "{}").get("previous", "")
    except ValueError:
        earlier = ""
    previous = os.path.basename(current) if current and os.path.basename(current) != release else earlier
    switched = current != target

    diff = []
    for spec, secret, before, uid, gid, mode in plans:
        if not secret:
            diff.append({"before_header": spec["path"], "after_header": spec["path"],
                         "before": before or "", "after": spec["content"]})
        if not module.check_mode:
            write_atomically(spec["path"], spec["content"], mode, (uid, gid))
    if switched and not module.check_mode:
        switch(link, target)

    removed = stale(releases_dir, p["keep"], {release, previous, *p["protected"]} - {""})
    if not module.check_mode:
        for name in removed:
            shutil.rmtree(os.path.join(releases_dir, name))
    held = set(os.listdir(releases_dir)) if os.path.isdir(releases_dir) else set()

    recorded = False
    if p["record_path"]:
        record = {**p["record"], "previous": previous,
                  "protected_releases": [name for name in p["protected"] if name in held]}
        text = json.dumps(record, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"
        recorded = text != recorded_before
        if recorded and not module.check_mode:
            os.makedirs(os.path.dirname(p["record_path"]), mode=0o755, exist_ok=True)
            write_atomically(p["record_path"], text, 0o644, (0, 0))

    written = [plan[0]["path"] for plan in plans]
    result = {"changed": bool(written or switched or removed or recorded), "switched": switched, "previous": previous,
              "written": written, "removed": removed, "recorded": recorded}
    if module._diff and diff:  # pylint: disable=protected-access
        result["diff"] = diff
    return result


def file_options(secret: bool) -> dict:
    return {
        "path": {"type": "path", "required": True},
        "content": {"type": "str", "required": True, "no_log": secret},
        "owner": {"type": "str", "default": "root"},
        "group": {"type": "str", "default": "root"},
        "mode": {"type": "str", "default": "0644"},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "files": {"type": "list", "elements": "dict", "default": [], "options": file_options(secret=False)},
            # The list itself is not a secret; each file's content is.
            "secret_files": {"type": "list", "elements": "dict", "default": [], "no_log": False,
                             "options": file_options(secret=True)},
            "keep": {"type": "int", "default": 3},
            "protected": {"type": "list", "elements": "str", "default": []},
            "record": {"type": "dict", "default": {}},
            "record_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    try:
        result = activate(module)
    except (Refused, OSError) as error:
        module.fail_json(msg=f"{module.params['release']} was not made current in {module.params['root']}: {error}")
    module.exit_json(msg=f"{module.params['release']} is current in {module.params['root']}", **result)


if __name__ == "__main__":
    main()
