# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's half of phoenix.deploy.release_install: look for the
release's marker on the host; only where it is missing, copy the artifact
to the host's temporary folder and run the module on it. Check mode
copies nothing."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.phoenix.deploy.plugins.module_utils.releases import MARKER


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # the connection's own temporary folder is used
        args = self._task.args.copy()
        missing = [name for name in ("src", "dest", "release") if not args.get(name)]
        if missing:
            result.update(failed=True, msg=f"release_install needs {', '.join(missing)}")
            return result
        try:
            marker = self._execute_remote_stat(os.path.join(args["dest"], MARKER), all_vars=task_vars, follow=False)
            if marker["exists"]:
                result.update(changed=False, msg=f"{args['release']} is complete in {args['dest']}")
                return result
            if self._task.check_mode:
                result.update(changed=True, msg=f"{args['release']} would be installed in {args['dest']}")
                return result
            try:
                source = self._find_needle("files", args["src"])
            except AnsibleError as error:
                result.update(failed=True, msg=f"the artifact {args['src']} is not on the controller: {error.message}")
                return result
            if self._connection._shell.tmpdir is None:
                self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "artifact.tar")
            self._transfer_file(source, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            args["src"] = remote
            result.update(self._execute_module(module_name="phoenix.deploy.release_install", module_args=args,
                                               task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
