"""Running ansible-playbook the way a user does, and keeping what it said."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT


@dataclass
class Run:
    rc: int
    output: str


def ansible_playbook(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: int = 900) -> Run:
    result = subprocess.run(
        ["ansible-playbook", *args],
        cwd=cwd,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(result.returncode, result.stdout + result.stderr)
