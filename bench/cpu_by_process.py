#!/usr/bin/env python3
"""Where a command's CPU goes, by process name: runs it under BSD process
accounting and prints a table; asserts nothing.

    sudo .venv/bin/python bench/cpu_by_process.py [--top N] -- make test

Needs root and Debian's `acct` package (installed if missing). Every process
that ends while the command runs is counted, the test hosts' too (their
processes are the machine's), whoever started it: run it on an otherwise
idle machine. Processes still running at the end (dockerd, a container's
services) are not counted; the machine's busy CPU seconds, from /proc/stat,
are printed beside the total for that reason. Accounting is turned off at
the end, and its file removed.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (every core)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return sum(int(fields[i]) for i in (1, 2, 3, 6, 7, 8)) / os.sysconf("SC_CLK_TCK")


def by_name(accounting: Path) -> dict[str, list[float]]:
    """{process name: [processes, CPU seconds]}; a name ending in * is a
    process that forked and never ran another program (Ansible's workers)."""
    dump = subprocess.run(["dump-acct", str(accounting)], capture_output=True, text=True, check=True).stdout
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for line in dump.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) < 12:
            continue
        name = fields[0] + ("*" if "F" in fields[11] else "")
        totals[name][0] += 1
        totals[name][1] += (float(fields[2]) + float(fields[3])) / 100  # AHZ ticks
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        raise SystemExit("cpu_by_process: name the command to run, after --")
    if shutil.which("accton") is None:
        subprocess.run([str(ROOT / "scripts" / "apt-install"), "acct"], check=True)
    with tempfile.TemporaryDirectory() as folder:
        accounting = Path(folder) / "pacct"
        accounting.touch()
        subprocess.run(["accton", str(accounting)], check=True, stdout=subprocess.DEVNULL)
        start, busy = time.monotonic(), busy_seconds()
        try:
            status = subprocess.run(command, check=False).returncode
        finally:
            subprocess.run(["accton", "off"], check=True, stdout=subprocess.DEVNULL)
        wall, busy = time.monotonic() - start, busy_seconds() - busy
        totals = by_name(accounting)
    recorded = sum(cpu for _, cpu in totals.values())
    print(f"\n{' '.join(command)}: exit {status}, {wall:.0f} s wall, machine busy {busy:.0f} CPU s, "
          f"of which ended processes {recorded:.1f}")
    print(f"{'process':20} {'count':>7} {'CPU s':>8} {'ms each':>9} {'share':>6}")
    for name, (count, cpu) in sorted(totals.items(), key=lambda item: -item[1][1])[:options.top]:
        print(f"{name:20} {count:7.0f} {cpu:8.1f} {1000 * cpu / count:9.1f} {100 * cpu / recorded:5.1f}%")
    sys.exit(status)


if __name__ == "__main__":
    main()
