"""Items, as release v1.2.0 stores them: a title only."""


class Broken(Exception):
    """A request this release cannot serve."""


def add(cur, name: str) -> int:
    cur.execute("INSERT INTO items (title) VALUES (%s) RETURNING id", (name,))
    return cur.fetchone()[0]


def listing(cur, limit: int) -> list[dict]:
    cur.execute("SELECT id, title FROM items ORDER BY id DESC LIMIT %s", (limit,))
    return [{"id": i, "name": n} for i, n in cur.fetchall()]
