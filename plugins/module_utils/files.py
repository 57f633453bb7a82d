# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Writing a file on a host so that readers see the old one or the new one,
never a part."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str, content: str, mode: int, owner: tuple[int, int] | None = None) -> None:
    """`content` into `path` with `mode` (and `owner`, a uid and gid, when
    given): a temporary file beside it, renamed over it. On a failure the
    temporary file is removed and `path` is as it was."""
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        if owner is not None:
            os.chown(temporary, *owner)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
