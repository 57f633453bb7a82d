# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Artifacts: a file's sha256, and extracting a tar archive without letting
it write outside its folder."""

from __future__ import annotations

import hashlib
import os
import tarfile


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unsafe_member(member: tarfile.TarInfo) -> str:
    """Why extracting `member` could write outside the folder or make a
    device, or '' when it cannot."""
    if os.path.isabs(member.name) or ".." in member.name.split("/"):
        return "a path outside the folder"
    if member.isdev():
        return "a device"
    if member.issym() or member.islnk():
        target = member.linkname if member.islnk() else os.path.join(os.path.dirname(member.name), member.linkname)
        if os.path.isabs(member.linkname) or os.path.normpath(target).split(os.sep)[0] == "..":
            return f"a link to {member.linkname!r}, outside the folder"
    return ""


def extract(tree: tarfile.TarFile, dest: str) -> None:
    """Extract every member of `tree` into `dest`; raise ValueError naming
    the first member that could write outside it, before writing any."""
    if hasattr(tarfile, "data_filter"):
        try:
            tree.extractall(dest, filter="data")
        except tarfile.FilterError as error:
            raise ValueError(f"{error.tarinfo.name!r}: {error}") from error
        return
    # Pythons before 3.11.4 (Debian 12's 3.11.2) have no extraction
    # filters: refuse by hand what the "data" filter refuses.
    for member in tree.getmembers():
        unsafe = unsafe_member(member)
        if unsafe:
            raise ValueError(f"{member.name!r}, {unsafe}")
    tree.extractall(dest)
