"""Running a module of the collection in this process, as Ansible would."""

from __future__ import annotations

import contextlib
import io
import json

import pytest


def call_module(name: str, args: dict, check_mode: bool = False) -> dict:
    """Run module `name`'s real main() with `args`; what it returned to Ansible."""
    from ansible.module_utils.testing import patch_module_args

    module = __import__(f"ansible_collections.phoenix.deploy.plugins.modules.{name}", fromlist=["main"])
    out = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue())
