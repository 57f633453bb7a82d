# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An environment's deploy lock and ledger, kept in its PostgreSQL (the
state database on the database host), so that every operator's checkout
sees the same ones and the backups and WAL archive carry them: a rebuilt
database host gets them back with its data.

- `phoenix_lock`: at most one row; taken with an INSERT that exactly one of
  two concurrent takers wins. It is removed by the token that took it, or
  broken on purpose.
- `phoenix_ledger`: one JSON document per entry, numbered without gaps; a
  trigger refuses every UPDATE and DELETE.

Each function takes an open psycopg2 connection and commits its own work.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import time
from typing import Any

LOCK_NAME = "deploy"
# Where the ledger and lock lived before they moved into PostgreSQL; an empty
# ledger table takes over that file's entries once.
LEGACY_LEDGER = "/var/lib/phoenix/deploy/ledger.jsonl"

SCHEMA = """
CREATE TABLE IF NOT EXISTS phoenix_lock (
    name text PRIMARY KEY,
    document jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS phoenix_ledger (
    id bigint PRIMARY KEY,
    entry jsonb NOT NULL
);
CREATE OR REPLACE FUNCTION phoenix_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the deploy ledger is append-only: % refused', TG_OP;
END $$;
CREATE OR REPLACE TRIGGER phoenix_ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON phoenix_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION phoenix_ledger_append_only();
"""


class LockHeld(Exception):
    """The lock is held by someone else; args[0] is the holder's document."""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def ensure_schema(conn, legacy_ledger: str = LEGACY_LEDGER) -> None:
    """Create the tables if they are missing (serialized: two first runs at
    once must not collide), and take over a file ledger of old."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('phoenix_deploy_state'))")
        cur.execute(SCHEMA)
        cur.execute("SELECT NOT EXISTS (SELECT 1 FROM phoenix_ledger)")
        if cur.fetchone()[0] and os.path.exists(legacy_ledger):
            with open(legacy_ledger) as handle:
                entries = [json.loads(line) for line in handle if line.strip()]
            for number, entry in enumerate(entries, start=1):
                cur.execute("INSERT INTO phoenix_ledger (id, entry) VALUES (%s, %s)",
                            (entry.get("id", number), json.dumps(entry, sort_keys=True)))


def read_lock(conn) -> dict[str, Any] | None:
    """The holder's document, or None when the lock is free."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT document FROM phoenix_lock WHERE name = %s", (LOCK_NAME,))
        row = cur.fetchone()
    return row[0] if row else None


def acquire(conn, holder: dict[str, Any]) -> dict[str, Any]:
    """Take the lock; returns the document written, with its token."""
    document = {**holder, "since": now(), "token": secrets.token_hex(16)}
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO phoenix_lock (name, document) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING RETURNING name",
                    (LOCK_NAME, json.dumps(document, sort_keys=True)))
        taken = cur.fetchone() is not None
    if not taken:
        raise LockHeld(read_lock(conn) or {"holder": "unknown"})
    return document


def release(conn, token: str | None) -> dict[str, Any] | None:
    """Remove the lock. With a token, only the lock that token took (raises
    LockHeld when another holds it); with None, whoever holds it (breaking).
    Returns the document removed, or None when the lock was free."""
    with conn, conn.cursor() as cur:
        removed, other = _remove_lock(cur, token)
    if other is not None:
        raise LockHeld(other)
    return removed


def _remove_lock(cur, token: str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """In the caller's transaction: delete the lock if `token` took it (or,
    with None, whoever took it). Returns the document removed, and the
    document of another holder, whose lock is left alone."""
    cur.execute("SELECT document FROM phoenix_lock WHERE name = %s FOR UPDATE", (LOCK_NAME,))
    row = cur.fetchone()
    if row is None:
        return None, None
    if token is not None and row[0].get("token") != token:
        return None, row[0]
    cur.execute("DELETE FROM phoenix_lock WHERE name = %s", (LOCK_NAME,))
    return row[0], None


def describe(holder: dict[str, Any]) -> str:
    """One line naming who holds a lock, since when, and for what."""
    what = " ".join(str(holder[key]) for key in ("action", "release") if holder.get(key))
    since = f" since {holder['since']}" if holder.get("since") else ""
    return f"{holder.get('holder', 'unknown')}{since}" + (f" ({what})" if what else "")


def read_ledger(conn) -> list[dict[str, Any]]:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT entry FROM phoenix_ledger ORDER BY id")
        return [row[0] for row in cur.fetchall()]


def _insert(cur, entry: dict[str, Any]) -> dict[str, Any]:
    # Gapless numbers: one appender at a time.
    cur.execute("LOCK TABLE phoenix_ledger IN EXCLUSIVE MODE")
    cur.execute("SELECT coalesce(max(id), 0) + 1 FROM phoenix_ledger")
    number = cur.fetchone()[0]
    written = {"id": number, "recorded": now(), **entry}
    cur.execute("INSERT INTO phoenix_ledger (id, entry) VALUES (%s, %s)", (number, json.dumps(written, sort_keys=True)))
    return written


def append(conn, entry: dict[str, Any]) -> dict[str, Any]:
    """Append an entry, numbered after the last one; returns it as written."""
    with conn, conn.cursor() as cur:
        return _insert(cur, entry)


def append_and_release(conn, entry: dict[str, Any], token: str) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
    """Append an entry and, in the same transaction, release the lock that
    `token` took: a run's last word and the end of its hold are one commit.
    The entry is written whoever holds the lock. Returns the entry as
    written, whether the lock was released, and the document of another
    holder when the lock is not this token's (it is left alone)."""
    with conn, conn.cursor() as cur:
        written = _insert(cur, entry)
        removed, other = _remove_lock(cur, token)
    return written, removed is not None, other


def archive(conn, wait: float) -> bool | None:
    """Close the current WAL segment and wait up to `wait` seconds until the
    archiver has shipped it (to the backup host): then what was just written
    survives the loss of this host. None when archiving is off."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting('archive_mode') <> 'off'")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT pg_walfile_name(pg_switch_wal())")
        segment = cur.fetchone()[0]
    deadline = time.monotonic() + wait
    while True:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            if cur.fetchone()[0][-24:] >= segment:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


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
            "live_history": live_history(entries), "live_color": live_color(entries),
            "maintenance": maintenance(entries)}


def maintenance(entries: list[dict[str, Any]]) -> list[str]:
    """The app hosts the newest run that looked left out of traffic (in
    maintenance in HAProxy, as a run that lost them leaves them)."""
    lists = [e["maintenance"] for e in entries if isinstance(e.get("maintenance"), list)]
    return lists[-1] if lists else []


def live_color(entries: list[dict[str, Any]]) -> str:
    """The color the newest successful run left live; empty when no run ever
    set one (a new environment)."""
    colors = [e["to_color"] for e in entries if e.get("outcome") == "succeeded" and e.get("to_color")]
    return colors[-1] if colors else ""


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


def read(conn, limit: int) -> dict[str, Any]:
    """What a reader of the state database wants at once: the newest `limit`
    entries, the lock's holder (without its token) and what the whole ledger
    says about releases (summary)."""
    entries = read_ledger(conn)
    held = read_lock(conn)
    return {"entries": entries[-limit:] if limit > 0 else [],
            "lock": {k: v for k, v in (held or {}).items() if k != "token"}, **summary(entries)}
