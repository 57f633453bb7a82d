"""Items, as release v1.0.0 stores them: a name."""


class Broken(Exception):
    """A request this release cannot serve."""


def add(cur, name: str) -> int:
    cur.execute("INSERT INTO items (name) VALUES (%s) RETURNING id", (name,))
    return cur.fetchone()[0]


def listing(cur, limit: int) -> list[dict]:
    cur.execute("SELECT id, name FROM items ORDER BY id DESC LIMIT %s", (limit,))
    return [{"id": i, "name": n} for i, n in cur.fetchall()]
