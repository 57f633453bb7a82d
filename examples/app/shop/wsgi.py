"""The shop's WSGI application.

    GET  /healthz   200 when the database answers and has the schema this
                    release needs (the expand part of every migration it
                    ships), else 503
    GET  /version   {"version": "<release tag>"}
    GET  /items     the newest items (at most PAGE), from the database
    POST /items     {"name": "..."} adds one
    GET  /flags     the feature flags as they apply to the user in X-User

Flags: "readonly" sheds writes (POST /items answers 503) for everyone or for
a percentage of users; any other flag is a dark launch, visible in /flags.

Settings come from the JSON file named by APP_CONFIG (database, flags); each
worker reads it when it starts, so a graceful reload (HUP) applies changes.
The release tag is in the RELEASE file the build puts beside this package.
"""

from __future__ import annotations

import json
import os
import select
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from shop import flags as features
from shop import items as catalogue

RELEASE_FILE = Path(__file__).resolve().parent.parent / "RELEASE"
RELEASE = RELEASE_FILE.read_text().strip() if RELEASE_FILE.exists() else "unreleased"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PAGE = 100  # items a GET /items answers with, newest first


def schema_needed() -> set[str]:
    """Ids of the migrations whose expand part this release's code relies on:
    every one it ships with an expand. Contract parts never are: the code
    works with and without them."""
    if not MIGRATIONS_DIR.is_dir():
        return set()
    return {path.name.split("_", 1)[0] for path in MIGRATIONS_DIR.glob("*.yml")
            if any(line.startswith("expand:") for line in path.read_text().splitlines())}


SCHEMA_NEEDED = schema_needed()


def load_config() -> dict:
    path = os.environ.get("APP_CONFIG", "")
    return json.loads(Path(path).read_text()) if path else {}


CONFIG = load_config()


def connect():
    """A new connection. A peer that stops answering (a host lost without a
    word) fails a request within seconds rather than holding a worker."""
    db = CONFIG.get("database", {})
    return psycopg2.connect(
        host=db.get("host", "localhost"), port=db.get("port", 5432), dbname=db.get("name", "shop"),
        user=db.get("user", "shop"), password=db.get("password", ""), connect_timeout=3,
        keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2, tcp_user_timeout=5000,
    )


_connection = None  # this worker's (gunicorn's sync workers serve one request at a time)


@contextmanager
def database():
    """A cursor in a transaction of its own, on this worker's connection.

    The connection is opened on the worker's first request and kept: a new
    one for every request would cost a TLS handshake and a SCRAM exchange
    each time. One the database has closed (a restart, a backend it ended)
    is noticed before it is used and replaced, so that costs no request; one
    that breaks during a request fails that request and is replaced on the
    next."""
    global _connection
    # Between requests the database has nothing to say to a worker, unless
    # it is ending the connection: then it sends why and closes it.
    if _connection is not None and select.select([_connection], [], [], 0)[0]:
        _connection.close()
        _connection = None
    if _connection is None:
        _connection = connect()
    try:
        with _connection, _connection.cursor() as cur:
            yield cur
    except psycopg2.Error:
        if _connection.closed:
            _connection = None
        raise


def respond(start_response, status: str, document) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def missing_schema(cur) -> list[str]:
    """The needed migrations whose expand part the database lacks."""
    cur.execute("SELECT to_regclass('phoenix_migrations') IS NOT NULL")
    if not cur.fetchone()[0]:
        return sorted(SCHEMA_NEEDED)
    cur.execute("SELECT migration_id FROM phoenix_migrations WHERE part = 'expand'")
    return sorted(SCHEMA_NEEDED - {row[0] for row in cur.fetchall()})


def healthz(environ, start_response):
    """Healthy means this release can serve: the database answers and holds
    the schema the release needs. An empty database that answers is not."""
    try:
        with database() as cur:
            missing = missing_schema(cur)
    except psycopg2.Error as error:
        return respond(start_response, "503 Service Unavailable",
                       {"status": "failing", "release": RELEASE, "checks": {"database": str(error).strip()}})
    checks = {"database": "ok", "schema": f"missing migrations {', '.join(missing)}" if missing else "ok"}
    status = "503 Service Unavailable" if missing else "200 OK"
    return respond(start_response, status, {"status": "failing" if missing else "ok", "release": RELEASE, "checks": checks})


def user_of(environ) -> str:
    return environ.get("HTTP_X_USER", "")


def flags(environ, start_response):
    return respond(start_response, "200 OK", {"user": user_of(environ), "flags": features.evaluate(CONFIG.get("flags", {}), user_of(environ))})


def items(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST" and features.enabled(CONFIG.get("flags", {}), "readonly", user_of(environ)):
        return respond(start_response, "503 Service Unavailable", {"error": "read-only for now: writes are shed"})
    try:
        with database() as cur:
            if environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                name = json.loads(environ["wsgi.input"].read(length) or b"{}").get("name", "")
                if not name:
                    return respond(start_response, "400 Bad Request", {"error": "name is required"})
                return respond(start_response, "201 Created", {"id": catalogue.add(cur, name), "name": name})
            return respond(start_response, "200 OK", catalogue.listing(cur, PAGE))
    except catalogue.Broken as error:
        return respond(start_response, "500 Internal Server Error", {"error": str(error)})


ROUTES = {
    "/healthz": healthz,
    "/version": lambda environ, start_response: respond(start_response, "200 OK", {"version": RELEASE}),
    "/items": items,
    "/flags": flags,
}


def application(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", "/"))
    if handler is None:
        return respond(start_response, "404 Not Found", {"error": "not found"})
    return handler(environ, start_response)
