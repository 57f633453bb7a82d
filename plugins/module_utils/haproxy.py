# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A client for HAProxy's runtime API (the admin socket)."""

from __future__ import annotations

import csv
import io
import socket
from typing import Any

# Per-server counters of HTTP responses by class, from `show stat`.
RESPONSE_FIELDS = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")


class HAProxyError(Exception):
    """The admin socket could not be reached or refused a command."""


def command(socket_path: str, line: str, timeout: float = 5.0) -> str:
    """Send one command to the admin socket and return its whole answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError as error:
        raise HAProxyError(f"cannot talk to HAProxy at {socket_path}: {error}") from None
    return b"".join(chunks).decode()


def show_stat(socket_path: str) -> list[dict[str, str]]:
    """`show stat` as one dict per proxy/server row."""
    text = command(socket_path, "show stat")
    if not text.startswith("# "):
        raise HAProxyError(f"unexpected answer to 'show stat' from {socket_path}: {text[:200]!r}")
    return list(csv.DictReader(io.StringIO(text[2:])))


def _int(value: str) -> int:
    return int(value) if value else 0


def server_stats(rows: list[dict[str, str]], backend: str) -> dict[str, dict[str, Any]]:
    """Counters of each server of `backend`: responses by class, errors,
    response time average (rtime, ms over the last 1024 requests)."""
    servers = {}
    for row in rows:
        if row["pxname"] != backend or row["svname"] in ("FRONTEND", "BACKEND"):
            continue
        counters: dict[str, Any] = {field: _int(row.get(field, "")) for field in RESPONSE_FIELDS}
        counters["requests"] = sum(counters[field] for field in RESPONSE_FIELDS)
        counters["eresp"] = _int(row.get("eresp", ""))
        counters["econ"] = _int(row.get("econ", ""))
        counters["rtime"] = _int(row.get("rtime", ""))
        counters["weight"] = _int(row.get("weight", ""))
        counters["status"] = row.get("status", "")
        servers[row["svname"]] = counters
    return servers


# The key of the live color in the frontend's color map.
KEY = "live"


def read_live(socket_path: str, map_file: str) -> str | None:
    """The value of the `live` entry; `show map` answers '<id> <key> <value>' lines."""
    answer = command(socket_path, f"show map {map_file}")
    for line in answer.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == KEY:
            return parts[2]
    if "Unknown map" in answer or "Unknown command" in answer:
        raise HAProxyError(f"HAProxy at {socket_path} has no map {map_file}: {answer.strip()}")
    return None


def servers_down(servers: dict[str, str]) -> str | None:
    """None when one of a backend's servers (name: status, as live_state
    gives them) takes traffic (UP, or not health checked), else what each
    one is."""
    if any(status.startswith("UP") or status == "no check" for status in servers.values()):
        return None
    return ", ".join(f"{name}: {status}" for name, status in sorted(servers.items())) or "no servers"


def servers_status(socket_path: str) -> dict:
    """Each color's servers and their status (UP, DOWN, MAINT, ...)."""
    rows = show_stat(socket_path)
    return {color: {name: s["status"] for name, s in server_stats(rows, color).items()} for color in ("blue", "green")}


def live_state(socket_path: str, map_file: str) -> dict:
    """The live color, each server's status and the servers in maintenance;
    raises HAProxyError when the map has no live color."""
    color = read_live(socket_path, map_file)
    if color is None:
        raise HAProxyError(f"the map {map_file} has no '{KEY}' entry: the frontend does not know which color serves")
    servers = servers_status(socket_path)
    maintenance = sorted(name for backend in servers.values() for name, status in backend.items() if status.startswith("MAINT"))
    return {"color": color, "servers": servers, "maintenance": maintenance}
