# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ordering of release tags such as v1.2.0 or v1.1.1-bad, and what makes an
installed release complete."""

from __future__ import annotations

import os
import re

# Written last into a release's folder by release_install, naming the release:
# only a folder that has it holds the whole release.
MARKER = ".complete"

_RELEASE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+.](.*))?$")


def release_key(tag: str) -> tuple[int, int, int, int, str]:
    """A sort key for a release tag: numeric parts first, and a release with a
    suffix (v1.1.1-rc1) before the same release without one (v1.1.1).

    Raises ValueError for a tag that is not a release (no leading number).
    """
    match = _RELEASE.match(tag.strip())
    if not match:
        raise ValueError(f"'{tag}' is not a release tag like v1.2.3")
    major, minor, patch, suffix = match.groups()
    return (int(major), int(minor or 0), int(patch or 0), 0 if suffix else 1, suffix or "")


def at_least(tag: str, minimum: str) -> bool:
    """Whether release `tag` is `minimum` or newer."""
    return release_key(tag)[:3] >= release_key(minimum)[:3]


def complete(folder: str, release: str) -> bool:
    """Whether `folder` holds the whole of `release` (its MARKER names it)."""
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as handle:
            return handle.read().strip() == release
    except OSError:
        return False
