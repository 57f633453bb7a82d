# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration file format of phoenix.deploy.db_migrate.

One YAML file per migration in a directory, named <id>_<slug>.yml, where
<id> is a number that orders migrations (0001_users.yml, 0002_email.yml).
Each file has any of three parts:

    description: Keep a lower-cased copy of each email.
    expand: |                  # SQL; runs in one transaction
      ALTER TABLE users ADD COLUMN email_lower text;
    backfill:                  # batched UPDATE, resumable
      table: users
      key: id                  # integer primary key to batch by (default id)
      set: email_lower = lower(email)
      where: email_lower IS NULL   # rows still to do (default: all rows)
    contract:
      safe_from_release: v1.1.0    # oldest release that no longer needs the old schema
      sql: |                   # SQL; runs in one transaction
        ALTER TABLE users DROP COLUMN email_upper;
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.phoenix.deploy.plugins.module_utils.releases import release_key

PARTS = ("expand", "backfill", "contract")
_FILENAME = re.compile(r"^(\d+)_[A-Za-z0-9_-]+\.ya?ml$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class MigrationError(Exception):
    """A migration file that cannot be used; the message names the file."""


@dataclass
class Backfill:
    table: str
    set: str
    key: str = "id"
    where: str = "true"


@dataclass
class Migration:
    id: str
    path: str
    description: str = ""
    expand: str | None = None
    backfill: Backfill | None = None
    contract: str | None = None
    safe_from_release: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)

    def has(self, part: str) -> bool:
        return getattr(self, part) is not None


def _checksum(content: Any) -> str:
    canonical = content if isinstance(content, str) else json.dumps(content, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sql(path: str, part: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MigrationError(f"{path}: '{part}' must be a non-empty SQL string")
    return value


def _backfill(path: str, value: Any) -> Backfill:
    if not isinstance(value, dict):
        raise MigrationError(f"{path}: 'backfill' must be a mapping with table, set, key and where")
    unknown = set(value) - {"table", "set", "key", "where"}
    if unknown:
        raise MigrationError(f"{path}: 'backfill' has unknown keys {sorted(unknown)}")
    for required in ("table", "set"):
        if not isinstance(value.get(required), str) or not value[required].strip():
            raise MigrationError(f"{path}: 'backfill.{required}' is required")
    backfill = Backfill(**{k: str(v) for k, v in value.items()})
    for name in ("table", "key"):
        if not _IDENTIFIER.match(getattr(backfill, name)):
            raise MigrationError(f"{path}: 'backfill.{name}' must be a plain SQL name, got {getattr(backfill, name)!r}")
    return backfill


def _contract(path: str, value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"safe_from_release", "sql"}:
        raise MigrationError(f"{path}: 'contract' must have exactly 'safe_from_release' and 'sql'")
    release = str(value["safe_from_release"])
    try:
        release_key(release)
    except ValueError as error:
        raise MigrationError(f"{path}: contract.safe_from_release: {error}") from None
    return _sql(path, "contract.sql", value["sql"]), release


def parse_migration(path: str, data: Any) -> Migration:
    """Build a Migration from a file's parsed YAML, or raise MigrationError."""
    name = os.path.basename(path)
    match = _FILENAME.match(name)
    if not match:
        raise MigrationError(f"{path}: file name must be <number>_<name>.yml")
    if not isinstance(data, dict):
        raise MigrationError(f"{path}: must be a YAML mapping with expand, backfill and/or contract")
    unknown = set(data) - {"description", *PARTS}
    if unknown:
        raise MigrationError(f"{path}: unknown keys {sorted(unknown)}; expected description, expand, backfill, contract")
    if not any(part in data for part in PARTS):
        raise MigrationError(f"{path}: has none of expand, backfill, contract")

    migration = Migration(id=match.group(1), path=path, description=str(data.get("description", "")))
    if "expand" in data:
        migration.expand = _sql(path, "expand", data["expand"])
    if "backfill" in data:
        migration.backfill = _backfill(path, data["backfill"])
    if "contract" in data:
        migration.contract, migration.safe_from_release = _contract(path, data["contract"])
    migration.checksums = {part: _checksum(data[part]) for part in PARTS if part in data}
    return migration


def load_migrations(directory: str, yaml_load) -> list[Migration]:
    """Every migration in `directory`, ordered by id. `yaml_load` parses text."""
    if not os.path.isdir(directory):
        raise MigrationError(f"{directory}: migrations directory does not exist")
    migrations = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith((".yml", ".yaml")) or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            try:
                data = yaml_load(handle.read())
            except Exception as error:  # the YAML library's own error types vary
                raise MigrationError(f"{path}: not valid YAML: {error}") from None
        migrations.append(parse_migration(path, data))
    migrations.sort(key=lambda m: int(m.id))
    seen: dict[int, str] = {}
    for migration in migrations:
        if int(migration.id) in seen:
            raise MigrationError(f"{migration.path}: id {migration.id} is also used by {seen[int(migration.id)]}")
        seen[int(migration.id)] = migration.path
    return migrations


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements at semicolons that are outside quotes,
    dollar quotes and comments."""
    statements = []
    current: list[str] = []
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote
                        end += 2
                        continue
                    break
                end += 1
            current.append(sql[i : end + 1])
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            current.append(sql[i:end])
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            current.append(sql[i:end])
            i = end
        elif ch == "$":
            tag = re.match(r"\$[A-Za-z_]*\$", sql[i:])
            if tag:
                end = sql.find(tag.group(0), i + len(tag.group(0)))
                end = n if end == -1 else end + len(tag.group(0))
                current.append(sql[i:end])
                i = end
            else:
                current.append(ch)
                i += 1
        elif ch == ";":
            statements.append("".join(current))
            current = []
            i += 1
        else:
            current.append(ch)
            i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.S)
    return bool(without_comments.strip())
