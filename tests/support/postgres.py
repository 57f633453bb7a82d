"""A throwaway PostgreSQL 15 cluster from Debian's packages, for tests and
benchmarks: initialised in a folder of its own, listening on 127.0.0.1 only,
run as the postgres user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Postgres:
    host: str
    port: int
    user: str = "postgres"
    _counter: int = 0

    def args(self, db: str) -> dict:
        """The connection options of phoenix.deploy's PostgreSQL modules."""
        return {"db": db, "login_host": self.host, "port": self.port, "login_user": self.user}

    def connect(self, db: str, autocommit: bool = False):
        import psycopg2

        conn = psycopg2.connect(dbname=db, host=self.host, port=self.port, user=self.user)
        conn.autocommit = autocommit
        return conn

    def create_database(self) -> str:
        self._counter += 1
        name = f"test_{os.getpid()}_{self._counter}"
        with contextlib.closing(self.connect("postgres", autocommit=True)) as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with contextlib.closing(self.connect("postgres", autocommit=True)) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert_users(execute, count: int) -> None:
    """`count` rows of mixed-case emails into a table users(email), through
    `execute(statement, params)` (a cursor's, or a test's own helper)."""
    execute("INSERT INTO users (email) SELECT 'User' || g || '@Example.ORG' FROM generate_series(1, %s) g", (count,))


@contextlib.contextmanager
def temporary_postgres(settings: dict[str, str] | None = None) -> Iterator[Postgres]:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}); run `make deps`")
    # Not under a root-only temporary folder: the postgres user must reach it.
    base = Path(tempfile.mkdtemp(prefix="phoenix-pg-"))
    data = base / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        shutil.chown(base, owner.pw_uid, owner.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run(
            [*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )
        port = free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "max_connections": "50", **(settings or {})}
        flags = " ".join(f"-c {k}={v}" for k, v in options.items()) + f" -k {base}"
        subprocess.run(
            [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", flags, "-l", str(base / "log"), "-w", "start"],
            check=True, capture_output=True,
        )
        try:
            yield Postgres(host="127.0.0.1", port=port)
        finally:
            subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           check=False, capture_output=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
