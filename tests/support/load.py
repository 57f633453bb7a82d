"""A bounded, steady load on one URL, for the pipeline story and bench/.

Load(url, rate=20, max_seconds=900) sends `rate` GETs a second from a few
threads until stop() or max_seconds, whichever comes first; every request is
kept as a Sample. With writes=True each request is a POST of a new item
({"name": "load-<n>"}), acknowledged by a 201. The URL must be a test
container's or 127.0.0.1: nothing else is ever a target.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

TIMEOUT = 5.0


@dataclass
class Sample:
    start: float
    seconds: float
    status: int  # 0: no answer
    body: bytes
    expected: int = 200

    @property
    def ok(self) -> bool:
        return self.status == self.expected

    @property
    def answered(self) -> float:
        return self.start + self.seconds


def private_target(url: str) -> None:
    """Refuse anything but loopback or a private (container) address."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not ipaddress.ip_address(host).is_private:
        raise ValueError(f"load targets only 127.0.0.1 or a test container's private address, not {host}")


class Load:
    def __init__(self, url: str, rate: float = 20, max_seconds: float = 900, threads: int = 4, writes: bool = False):
        private_target(url)
        self.url, self.rate, self.max_seconds, self.threads = url, rate, max_seconds, threads
        self.writes, self._numbers = writes, itertools.count(1)
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> "Load":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.began = time.monotonic()
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def _run(self, n: int) -> None:
        period = self.threads / self.rate
        due = self.began + n * period / self.threads
        deadline = self.began + self.max_seconds
        while not self._stop.is_set() and due < deadline:
            time.sleep(max(0.0, due - time.monotonic()))
            due += period
            start = time.monotonic()
            try:
                with urllib.request.urlopen(self._request(), timeout=TIMEOUT) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            except (urllib.error.URLError, OSError) as error:
                status, body = 0, str(error).encode()
            with self._lock:
                self.samples.append(Sample(start, time.monotonic() - start, status, body, 201 if self.writes else 200))

    def _request(self) -> urllib.request.Request:
        if not self.writes:
            return urllib.request.Request(self.url)
        document = json.dumps({"name": f"load-{next(self._numbers)}"}).encode()
        return urllib.request.Request(self.url, data=document, method="POST", headers={"Content-Type": "application/json"})

    def acknowledged(self, before: float = float("inf")) -> list[int]:
        """The ids of the items whose writes were acknowledged (201) before
        the moment `before`."""
        with self._lock:
            return [json.loads(s.body)["id"] for s in self.samples if s.ok and s.answered < before]

    def between(self, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s.start < end]

    @staticmethod
    def failed(samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if not s.ok]
