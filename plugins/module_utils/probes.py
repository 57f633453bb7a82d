# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One timed HTTP request, as the health checks and the canary's latency
probes make it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url


@dataclass
class Answer:
    latency_ms: float | None  # None when nothing came back
    status: int | None = None
    body: bytes = b""
    error: str | None = None  # why nothing came back


def timed_get(url: str, timeout: float, headers: dict | None = None, validate_certs: bool = True) -> Answer:
    """GET `url` once, following no redirect; what came back and how long it took."""
    started = time.monotonic()
    try:
        response = open_url(url, headers=headers or {}, timeout=timeout, validate_certs=validate_certs,
                            follow_redirects="none")
        status, body = response.getcode(), response.read()
    except HTTPError as error:
        status, body = error.code, error.read() if hasattr(error, "read") else b""
    except (URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if "timed out" in str(reason):
            return Answer(None, error=f"timeout after {timeout}s")
        return Answer(None, error=f"no answer: {reason}")
    return Answer((time.monotonic() - started) * 1000, status, body)
