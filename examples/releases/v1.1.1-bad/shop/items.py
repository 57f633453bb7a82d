"""Release v1.1.1-bad: v1.1.0 with a regression. One request in four to the
items fails, and every one is slow; the health check still passes."""

import itertools
import time

_requests = itertools.count(1)


class Broken(Exception):
    """A request this release cannot serve."""


def _regress() -> None:
    time.sleep(0.05)
    if next(_requests) % 4 == 0:
        raise Broken("items are unavailable")


def add(cur, name: str) -> int:
    _regress()
    cur.execute("INSERT INTO items (name, title) VALUES (%s, %s) RETURNING id", (name, name))
    return cur.fetchone()[0]


def listing(cur, limit: int) -> list[dict]:
    _regress()
    cur.execute("SELECT id, coalesce(title, name) FROM items ORDER BY id DESC LIMIT %s", (limit,))
    return [{"id": i, "name": n} for i, n in cur.fetchall()]
