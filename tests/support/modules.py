"""Running a module of the collection in this process, as Ansible would."""

from __future__ import annotations

import contextlib
import io
import json

import pytest


def call_module(name: str, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Run module `name`'s real main() with `args`; what it returned to Ansible.
    Each call starts with no warnings or deprecations: a module's process
    keeps them in globals that only its exit would clear."""
    from ansible.module_utils.common import warnings
    from ansible.module_utils.testing import patch_module_args

    warnings._global_warnings.clear()  # pylint: disable=protected-access
    warnings._global_deprecations.clear()  # pylint: disable=protected-access

    module = __import__(f"ansible_collections.phoenix.deploy.plugins.modules.{name}", fromlist=["main"])
    out = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue())
