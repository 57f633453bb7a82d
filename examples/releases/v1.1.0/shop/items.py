"""Items, as release v1.1.0 stores them: a title, and the name as well, so
that v1.0.0 beside it keeps working (expand phase)."""


class Broken(Exception):
    """A request this release cannot serve."""


def add(cur, name: str) -> int:
    cur.execute("INSERT INTO items (name, title) VALUES (%s, %s) RETURNING id", (name, name))
    return cur.fetchone()[0]


def listing(cur, limit: int) -> list[dict]:
    cur.execute("SELECT id, coalesce(title, name) FROM items ORDER BY id DESC LIMIT %s", (limit,))
    return [{"id": i, "name": n} for i, n in cur.fetchall()]
