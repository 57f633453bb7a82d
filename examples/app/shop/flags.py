"""Feature flags from the settings: {"name": {"enabled": true}} for everyone,
or {"name": {"percent": 10}} for a stable tenth of the users (each user falls
in the same bucket every time, so a user's experience does not flicker)."""

from __future__ import annotations

import hashlib


def enabled(flags: dict, name: str, user: str) -> bool:
    flag = flags.get(name) or {}
    if "enabled" in flag:
        return bool(flag["enabled"])
    bucket = int(hashlib.sha256(f"{name}:{user}".encode()).hexdigest(), 16) % 100
    return bucket < int(flag.get("percent", 0))


def evaluate(flags: dict, user: str) -> dict[str, bool]:
    return {name: enabled(flags, name, user) for name in sorted(flags)}
