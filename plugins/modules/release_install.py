#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_install
short_description: Install a release from its artifact in one step, or leave a complete one alone
description:
  - Copies the artifact (made by M(phoenix.deploy.build_artifact)) from the controller to the host, unpacks it
    into O(dest), checks every file against the artifact's C(manifest.json), builds the release's virtualenv from
    the wheels it carries (no package index), and last writes C(.complete) with the release's name.
  - A release that has its C(.complete) is left alone, and the artifact is not copied; that costs one look at the
    host.
  - A folder left half-installed (no C(.complete)) is removed and installed again. When a step fails, the folder
    is removed, so that no half-installed release stays behind, and the message names the step.
  - The artifact's own checksum is checked on the controller before this runs (the app role's C(artifact) tasks).
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Reports whether it would install; copies and changes nothing.
options:
  src:
    description: The artifact on the controller (C(<app>-<release>.tar.gz)).
    type: path
    required: true
  dest:
    description: The release's folder on the host; its parent must exist.
    type: path
    required: true
  release:
    description: The release's name, written into C(.complete).
    type: str
    required: true
  group:
    description: The group that owns the unpacked files (they belong to C(root), and the group may read them).
    type: str
    default: root
  python:
    description: The interpreter the virtualenv is made from.
    type: path
    default: /usr/bin/python3
  requirements:
    description: The requirements file, relative to O(dest).
    type: str
    default: src/requirements.txt
  wheels:
    description: The folder of wheels the virtualenv is built from, relative to O(dest).
    type: str
    default: wheels
seealso:
  - module: phoenix.deploy.build_artifact
"""

EXAMPLES = r"""
- name: Install v1.2.0 of the shop
  phoenix.deploy.release_install:
    src: artifacts/shop-v1.2.0.tar.gz
    dest: /srv/shop/releases/v1.2.0
    release: v1.2.0
    group: shop
"""

RETURN = r"""
files:
  description: The number of files the manifest lists, each checked.
  returned: when installed
  type: int
  sample: 42
seconds:
  description: How long each step took.
  returned: when installed
  type: dict
  sample: {unpack: 0.2, check: 0.1, virtualenv: 2.4}
"""

import grp
import json
import os
import shutil
import tarfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.archives import extract, sha256_file
from ansible_collections.phoenix.deploy.plugins.module_utils.releases import MARKER, complete


class StepFailed(Exception):
    pass


def unpack(src: str, dest: str, gid: int) -> None:
    os.mkdir(dest, 0o755)
    os.chown(dest, 0, gid)
    try:
        with tarfile.open(src, "r:*") as tree:
            extract(tree, dest)
    except (tarfile.TarError, OSError, ValueError) as error:
        raise StepFailed(f"{src}: {error}") from error
    for top, dirs, files in os.walk(dest):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), 0, gid)


def check(dest: str) -> int:
    try:
        with open(os.path.join(dest, "manifest.json")) as handle:
            files = json.load(handle)["files"]
    except (OSError, ValueError, KeyError) as error:
        raise StepFailed(f"read the manifest: {error}") from error
    differ = sorted(name for name, digest in files.items()
                    if not os.path.isfile(os.path.join(dest, name)) or sha256_file(os.path.join(dest, name)) != digest)
    if differ:
        raise StepFailed(f"files differ from the manifest: {', '.join(differ)}")
    return len(files)


def virtualenv(module: AnsibleModule, dest: str) -> None:
    """The virtualenv without a pip of its own: the host's pip installs
    into it (--python), which spares the copy of pip into every release."""
    p = module.params
    venv = os.path.join(dest, "venv")
    for argv in ([p["python"], "-m", "venv", "--without-pip", venv],
                 [p["python"], "-m", "pip", "--python", os.path.join(venv, "bin", "python"), "install",
                  "--quiet", "--disable-pip-version-check", "--no-cache-dir", "--no-index",
                  "--find-links", os.path.join(dest, p["wheels"]), "-r", os.path.join(dest, p["requirements"])]):
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise StepFailed(f"{' '.join(argv[:3])}: {(err or out).strip()[-2000:]}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "group": {"type": "str", "default": "root"},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "requirements": {"type": "str", "default": "src/requirements.txt"},
            "wheels": {"type": "str", "default": "wheels"},
        },
        supports_check_mode=True,
    )
    p = module.params
    dest, release = p["dest"].rstrip("/"), p["release"]
    if complete(dest, release):
        module.exit_json(changed=False, msg=f"{release} is complete in {dest}")
    if module.check_mode:
        module.exit_json(changed=True, msg=f"{release} would be installed in {dest}")
    try:
        gid = grp.getgrnam(p["group"]).gr_gid
    except KeyError:
        module.fail_json(msg=f"group {p['group']!r} does not exist on the host")
    if not os.path.isfile(p["src"]):
        module.fail_json(msg=f"the artifact {p['src']} is not on the host")

    seconds: dict[str, float] = {}
    step = "remove the half-installed release"
    try:
        start = time.monotonic()
        if os.path.lexists(dest):
            shutil.rmtree(dest)
        step = "unpack"
        unpack(p["src"], dest, gid)
        seconds["unpack"] = round(time.monotonic() - start, 2)
        step, start = "check every file against the manifest", time.monotonic()
        files = check(dest)
        seconds["check"] = round(time.monotonic() - start, 2)
        step, start = "build the virtualenv", time.monotonic()
        virtualenv(module, dest)
        seconds["virtualenv"] = round(time.monotonic() - start, 2)
        step = "mark it complete"
        with open(os.path.join(dest, MARKER), "w") as handle:
            handle.write(f"{release}\n")
        os.chmod(os.path.join(dest, MARKER), 0o644)
    except (StepFailed, OSError) as error:
        shutil.rmtree(dest, ignore_errors=True)
        module.fail_json(msg=f"{release} was not installed in {dest} ({step}): {error}; the folder was removed")
    module.exit_json(changed=True, msg=f"{release} installed in {dest}", files=files, seconds=seconds)


if __name__ == "__main__":
    main()
