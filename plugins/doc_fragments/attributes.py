# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Attributes every phoenix.deploy module shares; each module states its
    # own check_mode support.
    DOCUMENTATION = r"""
attributes:
  diff_mode:
    support: none
    description: Returns no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on any POSIX host with Python 3.
"""
