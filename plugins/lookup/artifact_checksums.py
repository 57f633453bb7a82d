# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: artifact_checksums
short_description: A release artifact's sha256 on the controller, and the one its checksum file gives
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
description:
  - For each artifact path, reads the file and the C(.sha256) file beside it, on the controller, in the
    controller's own process (no module runs, no host is asked).
  - A file that is not there gives an empty string, so that the caller can say which one is missing.
options:
  _terms:
    description: Paths of artifacts on the controller.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: Refuse an artifact whose checksum differs from its checksum file
  ansible.builtin.assert:
    that: _sums.sha256 and _sums.sha256 == _sums.expected
  vars:
    _sums: "{{ lookup('phoenix.deploy.artifact_checksums', '/srv/artifacts/shop-v1.2.0.tar.gz') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per artifact.
  type: list
  elements: dict
  contains:
    sha256:
      description: The artifact's sha256, in hex; empty when there is no artifact.
      type: str
    expected:
      description: The first word of the artifact's C(.sha256) file; empty when there is no such file.
      type: str
"""

import hashlib

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return ""
    except OSError as error:
        raise AnsibleLookupError(f"artifact_checksums: cannot read {path}: {error.strerror}") from None
    return digest.hexdigest()


def expected_of(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            words = handle.read().split()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        raise AnsibleLookupError(f"artifact_checksums: cannot read {path}: {error}") from None
    return words[0] if words else ""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [{"sha256": sha256_of(str(term)), "expected": expected_of(f"{term}.sha256")} for term in terms]
