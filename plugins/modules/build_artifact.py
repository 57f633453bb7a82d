#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: build_artifact
short_description: Build a release artifact of an application from a git tag
description:
  - Makes C(<name>-<release>.tar.gz) in O(dest) from the tag O(release) of the git repository O(repo),
    holding C(src/) (the tree at the tag, with a C(RELEASE) file naming the tag), C(wheels/) (every wheel
    the application's C(requirements.txt) needs, for the target Python and platform, so that no package
    index is needed at deploy time), and C(manifest.json) with the sha256 of every file.
  - The same tag gives the same bytes. Every member's time is the tag's commit time, owners are root, and
    the gzip header carries no time. A C(.sha256) file beside the artifact holds its checksum.
  - An artifact that already exists for the tag is kept when its checksum file agrees with it.
  - Runs where the repository is, normally the controller, and needs C(git) and C(pip) there.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Checks the tag and reports whether an artifact would be built; writes nothing.
options:
  repo:
    description: Path of the application's git repository.
    type: path
    required: true
  release:
    description: The tag to build.
    type: str
    required: true
  name:
    description: The application's name, the artifact's file name prefix.
    type: str
    required: true
  dest:
    description: The artifact directory.
    type: path
    required: true
  python_version:
    description: Python version of the hosts the release runs on, for the wheels.
    type: str
    default: "3.11"
  platform:
    description: Platform tag of those hosts, for wheels with compiled code.
    type: str
    default: manylinux2014_x86_64
  force:
    description: Build again even when an artifact of the tag exists.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Build v1.1.0 of the shop
  phoenix.deploy.build_artifact:
    repo: /home/alice/src/shop
    release: v1.1.0
    name: shop
    dest: "{{ playbook_dir }}/../artifacts"
  delegate_to: localhost
  register: artifact
"""

RETURN = r"""
path:
  description: The artifact.
  returned: always
  type: str
  sample: /srv/artifacts/shop-v1.1.0.tar.gz
sha256:
  description: Its sha256.
  returned: always
  type: str
commit:
  description: The commit the tag points at.
  returned: always
  type: str
files:
  description: Number of files in the manifest.
  returned: always
  type: int
"""

import gzip
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.archives import extract, sha256_file


def git(module: AnsibleModule, *args: str) -> str:
    rc, out, err = module.run_command(["git", "-C", module.params["repo"], *args])
    if rc != 0:
        raise RuntimeError(err.strip() or out.strip())
    return out


def export_tree(module: AnsibleModule, commit: str, src: str) -> None:
    rc, archive, err = module.run_command(["git", "-C", module.params["repo"], "archive", "--format=tar", commit], binary_data=True, encoding=None)
    if rc != 0:
        module.fail_json(msg=f"git archive of {module.params['release']} failed: {err}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        try:
            extract(tree, src)
        except ValueError as error:
            module.fail_json(msg=f"git archive of {module.params['release']} holds {error}: not extracted")


def download_wheels(module: AnsibleModule, requirements: str, wheels: str) -> None:
    os.makedirs(wheels)
    if not os.path.exists(requirements):
        return
    rc, out, err = module.run_command([
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", "--python-version", module.params["python_version"],
        "--platform", module.params["platform"], "--implementation", "cp",
        "--dest", wheels, "-r", requirements,
    ])
    if rc != 0:
        module.fail_json(msg=f"could not fetch the wheels of {requirements}: {err.strip()}")


def pack(root: str, target: str, mtime: int) -> None:
    """A tar.gz of `root` whose bytes depend only on the files' contents."""
    members = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            members.append(os.path.relpath(os.path.join(directory, name), root))
    members.sort()
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for relative in members:
                path = os.path.join(root, relative)
                info = archive.gettarinfo(path, arcname=relative)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = mtime
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info.pax_headers = {}
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repo": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "name": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "python_version": {"type": "str", "default": "3.11"},
            "platform": {"type": "str", "default": "manylinux2014_x86_64"},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isdir(os.path.join(p["repo"], ".git")) and not os.path.isfile(os.path.join(p["repo"], "HEAD")):
        module.fail_json(msg=f"repo {p['repo']} is not a git repository")
    try:
        commit = git(module, "rev-parse", "--verify", "--quiet", f"refs/tags/{p['release']}^{{commit}}").strip()
    except RuntimeError:
        tags = git(module, "tag", "--list").split()
        module.fail_json(msg=f"the tag {p['release']} does not exist in {p['repo']} (tags: {', '.join(tags) or 'none'})")
    commit_time = int(git(module, "show", "-s", "--format=%ct", commit).strip())

    artifact = os.path.join(p["dest"], f"{p['name']}-{p['release']}.tar.gz")
    checksum_file = artifact + ".sha256"
    if not p["force"] and os.path.exists(artifact) and os.path.exists(checksum_file):
        with open(checksum_file) as handle:
            recorded = handle.read().split()[0]
        if recorded == sha256_file(artifact):
            module.exit_json(changed=False, path=artifact, sha256=recorded, commit=commit, files=None)
    if module.check_mode:
        module.exit_json(changed=True, path=artifact, sha256=None, commit=commit, files=None)

    work = tempfile.mkdtemp(prefix="phoenix-build-")
    try:
        root = os.path.join(work, "artifact")
        src = os.path.join(root, "src")
        os.makedirs(src)
        export_tree(module, commit, src)
        with open(os.path.join(src, "RELEASE"), "w") as handle:
            handle.write(p["release"] + "\n")
        download_wheels(module, os.path.join(src, "requirements.txt"), os.path.join(root, "wheels"))

        files = {}
        for directory, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                files[os.path.relpath(path, root)] = sha256_file(path)
        manifest = {
            "name": p["name"], "release": p["release"], "commit": commit,
            "python_version": p["python_version"], "platform": p["platform"],
            "files": dict(sorted(files.items())),
        }
        with open(os.path.join(root, "manifest.json"), "w") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
            handle.write("\n")

        os.makedirs(p["dest"], exist_ok=True)
        partial = os.path.join(p["dest"], f".{p['name']}-{p['release']}.tar.gz.partial")
        pack(root, partial, commit_time)
        digest = sha256_file(partial)
        os.replace(partial, artifact)
        with open(checksum_file, "w") as handle:
            handle.write(f"{digest}  {os.path.basename(artifact)}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    module.exit_json(changed=True, path=artifact, sha256=digest, commit=commit, files=len(files))


if __name__ == "__main__":
    main()
