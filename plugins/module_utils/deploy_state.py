# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An environment's deploy lock and ledger: two files in one folder on the
environment's state host, so every operator's checkout sees the same ones.

- `lock`: a JSON document, created with O_EXCL, so that exactly one of two
  concurrent deploys gets it. It is removed by the token that took it, or
  broken on purpose.
- `ledger.jsonl`: one JSON document per line, appended under an exclusive
  flock and fsynced; never rewritten.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import secrets
from typing import Any

LOCK = "lock"
LEDGER = "ledger.jsonl"


class LockHeld(Exception):
    """The lock is held by someone else; args[0] is the holder's document."""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _ensure_dir(directory: str) -> None:
    os.makedirs(directory, mode=0o750, exist_ok=True)


def read_lock(directory: str) -> dict[str, Any] | None:
    """The holder's document, or None when the lock is free."""
    try:
        with open(os.path.join(directory, LOCK)) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # A lock whose writer died mid-write is still a lock: someone took it.
        return {"holder": "unknown (unreadable lock file)", "raw": text[:200]}


def acquire(directory: str, holder: dict[str, Any]) -> dict[str, Any]:
    """Take the lock; returns the document written, with its token."""
    _ensure_dir(directory)
    document = {**holder, "since": now(), "token": secrets.token_hex(16)}
    path = os.path.join(directory, LOCK)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except OSError as error:
        if error.errno == errno.EEXIST:
            raise LockHeld(read_lock(directory) or {"holder": "unknown"}) from None
        raise
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(document, sort_keys=True))
        handle.flush()
        os.fsync(handle.fileno())
    return document


def release(directory: str, token: str | None) -> dict[str, Any] | None:
    """Remove the lock. With a token, only the lock that token took (raises
    LockHeld when another holds it); with None, whoever holds it (breaking).
    Returns the document removed, or None when the lock was free."""
    held = read_lock(directory)
    if held is None:
        return None
    if token is not None and held.get("token") != token:
        raise LockHeld(held)
    os.unlink(os.path.join(directory, LOCK))
    return held


def describe(holder: dict[str, Any]) -> str:
    """One line naming who holds a lock, since when, and for what."""
    what = " ".join(str(holder[key]) for key in ("action", "release") if holder.get(key))
    since = f" since {holder['since']}" if holder.get("since") else ""
    return f"{holder.get('holder', 'unknown')}{since}" + (f" ({what})" if what else "")


def read_ledger(directory: str) -> list[dict[str, Any]]:
    try:
        with open(os.path.join(directory, LEDGER)) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def append(directory: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Append an entry, numbered after the last one; returns it as written."""
    _ensure_dir(directory)
    path = os.path.join(directory, LEDGER)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        lines = [line for line in handle.read().splitlines() if line.strip()]
        number = json.loads(lines[-1]).get("id", len(lines)) + 1 if lines else 1
        written = {"id": number, "recorded": now(), **entry}
        handle.write(json.dumps(written, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o640)
    return written


def summary(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """What the ledger says about releases: those marked bad, those that
    went live, newest last, and the schema's contract point (the release the
    last contract was safe from: nothing older runs on the schema)."""
    bad = sorted({e["release"] for e in entries if e.get("bad") and e.get("release")})
    good: list[str] = []
    for entry in entries:
        release = entry.get("release")
        if entry.get("outcome") == "succeeded" and entry.get("action") in ("deploy", "rollback") and release:
            if release in good:
                good.remove(release)
            good.append(release)
    good = [release for release in good if release not in bad]
    points = [e["contract_point"] for e in entries if e.get("contract_point") and e.get("outcome") == "succeeded"]
    return {"bad_releases": bad, "good_releases": good, "contract_point": points[-1] if points else "",
            "live_history": live_history(entries)}


def live_history(entries: list[dict[str, Any]]) -> list[str]:
    """The releases that went live, as a stack: a deploy pushes its release,
    a rollback pops back to its release (or pushes one never live before).
    The top is the live release; the one below is what a rollback goes to."""
    stack: list[str] = []
    for entry in entries:
        release = entry.get("release")
        if entry.get("outcome") != "succeeded" or not release:
            continue
        if entry.get("action") == "deploy" and (not stack or stack[-1] != release):
            stack.append(release)
        elif entry.get("action") == "rollback":
            if release in stack:
                del stack[len(stack) - stack[::-1].index(release):]
            else:
                stack.append(release)
    return stack
