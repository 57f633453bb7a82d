"""Helpers shared by the test suites and the benchmarks."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
