"""Fixtures for the module tests: real servers, never mocks.

- `postgres`: a PostgreSQL 15 cluster from Debian's packages, initialised in
  a temporary folder and started for the session (as the postgres user, which
  PostgreSQL insists on), on 127.0.0.1 only.
- `http_app`: a real HTTP server on 127.0.0.1 whose answers a test shapes.
- `haproxy`: Debian's HAProxy in front of such servers, with an admin socket.
- `run_module`: runs a module's real main() with given arguments and returns
  what it would have returned to Ansible.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.modules import call_module
from tests.support.postgres import free_port, temporary_postgres


# -- running modules ------------------------------------------------------------


@pytest.fixture
def run_module():
    """run_module("db_migrate", {...}, check_mode=False) -> the module's result dict."""
    return call_module


# -- PostgreSQL -------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres():
    # fsync off: the tests prove behaviour, not durability.
    with temporary_postgres({"fsync": "off"}) as server:
        yield server


@pytest.fixture
def database(postgres):
    name = postgres.create_database()
    yield name
    postgres.drop_database(name)


# -- HTTP ---------------------------------------------------------------------------


@dataclass
class Machine:
    """What apps on one machine share: the first request after `idle`
    seconds without one waits `wake` seconds (a host that has gone idle,
    won back by the first request that comes)."""

    idle: float
    wake: float
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> None:
        with self.lock:
            now = time.monotonic()
            asleep, self.last = now - self.last > self.idle, now
        if asleep:
            time.sleep(self.wake)


@dataclass
class Behaviour:
    """How an HTTP app answers: every `fail_every`-th request gets 500, each
    answer waits `delay` seconds, the first `cold` answers wait `cold_delay`
    more (an app that has just started), `machine` may add its own wait,
    and /version says `version`."""

    version: str = "v1.0.0"
    delay: float = 0.0
    fail_every: int = 0
    cold: int = 0
    cold_delay: float = 0.0
    machine: Machine | None = None
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class HTTPApp:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                b = app.behaviour
                with b.lock:
                    b.requests += 1
                    number = b.requests
                if b.machine:
                    b.machine.take()
                wait = b.delay + (b.cold_delay if number <= b.cold else 0.0)
                if wait:
                    time.sleep(wait)
                if b.fail_every and number % b.fail_every == 0:
                    self.answer(500, {"error": "injected"})
                elif self.path == "/version":
                    self.answer(200, {"version": b.version})
                elif self.path == "/healthz":
                    self.answer(200, {"status": "ok", "checks": {"database": "ok"}})
                else:
                    self.answer(404, {"error": "not found"})

            def answer(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_app():
    """http_app(version=..., delay=..., fail_every=...) starts one more server."""
    apps: list[HTTPApp] = []

    def start(**behaviour) -> HTTPApp:
        apps.append(HTTPApp(Behaviour(**behaviour)))
        return apps[-1]

    yield start
    for app in apps:
        app.close()


# -- HAProxy --------------------------------------------------------------------------

HAPROXY_CFG = """\
global
    stats socket {socket} mode 600 level admin
    log stdout format raw local0 err

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:{port}
    use_backend %[str(live),map({map_file},app)]
{backends}
"""


@dataclass
class HAProxy:
    url: str
    socket: str
    map_file: str
    config: str


@pytest.fixture
def haproxy(tmp_path):
    """haproxy({"canary1": app, ...}) starts HAProxy with those servers in
    backend `app`; haproxy(backends={"blue": {...}, "green": {...}}, live="blue")
    with a backend per color, routed by the key `live` of a map file."""
    processes = []

    def start(servers: dict[str, HTTPApp] | None = None, backends: dict | None = None, live: str | None = None,
              check: bool = False) -> HAProxy:
        port = free_port()
        sock = str(tmp_path / "admin.sock")
        map_file = tmp_path / "live-color.map"
        map_file.write_text(f"live {live}\n" if live else "")
        blocks = []
        for backend, members in (backends or {"app": servers}).items():
            health = " check inter 200ms fall 1" if check else ""
            lines = "\n".join(f"    server {name} 127.0.0.1:{app.port}{health}" for name, app in members.items())
            blocks.append(f"backend {backend}\n    balance roundrobin\n{lines}\n")
        config = tmp_path / "haproxy.cfg"
        config.write_text(HAPROXY_CFG.format(socket=sock, port=port, map_file=map_file, backends="\n".join(blocks)))
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        return HAProxy(url=f"http://127.0.0.1:{port}", socket=sock, map_file=str(map_file), config=str(config))

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
