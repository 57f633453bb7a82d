# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: oldest_release
short_description: The oldest of some release tags, in release order
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
description:
  - Orders tags by their numbers (v1.10.0 after v1.9.0), a tag with a suffix before the same tag
    without one, and returns the oldest. Empty strings are ignored; an empty result is an empty string.
positional: _input
options:
  _input:
    description: Release tags.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The oldest release any app host runs
  ansible.builtin.debug:
    msg: "{{ ['v1.10.0', 'v1.9.2', ''] | phoenix.deploy.oldest_release }}"
"""

RETURN = r"""
_value:
  description: The oldest tag, or an empty string.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.phoenix.deploy.plugins.module_utils.releases import release_key


def oldest_release(tags) -> str:
    tags = [t for t in tags if t]
    try:
        return min(tags, key=release_key) if tags else ""
    except ValueError as error:
        raise AnsibleFilterError(f"oldest_release: {error}") from None


class FilterModule:
    def filters(self):
        return {"oldest_release": oldest_release}
