# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection arguments and connecting, shared by the PostgreSQL modules."""

from __future__ import annotations

import traceback
from typing import Any

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:
    psycopg2 = None
    PSYCOPG2_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    PSYCOPG2_IMPORT_ERROR = None

APPLICATION_NAME_PREFIX = "phoenix.deploy"


def connection_argument_spec() -> dict[str, dict[str, Any]]:
    """Arguments every module that talks to PostgreSQL takes."""
    return {
        "db": {"type": "str", "required": True},
        "login_host": {"type": "str", "default": ""},
        "login_unix_socket": {"type": "path", "default": ""},
        "port": {"type": "int", "default": 5432},
        "login_user": {"type": "str", "default": "postgres"},
        "login_password": {"type": "str", "default": "", "no_log": True},
        "connect_timeout": {"type": "int", "default": 10},
    }


def state_argument_spec() -> dict[str, dict[str, Any]]:
    """The connection arguments of the modules that keep an environment's
    state (deploy_lock, deploy_ledger): its own database, by default through
    the local socket as postgres."""
    return {**connection_argument_spec(), "db": {"type": "str", "default": "phoenix"}}


def require_psycopg2(module) -> None:
    if psycopg2 is None:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(msg=missing_required_lib("psycopg2 (Debian: python3-psycopg2)"), exception=PSYCOPG2_IMPORT_ERROR)


def connect(module, purpose: str):
    """Open a connection with the module's connection arguments, or fail the
    module with a message that says where it tried to connect."""
    require_psycopg2(module)
    params = module.params
    host = params["login_unix_socket"] or params["login_host"]
    kwargs = {
        "dbname": params["db"],
        "user": params["login_user"],
        "port": params["port"],
        "connect_timeout": params["connect_timeout"],
        "application_name": f"{APPLICATION_NAME_PREFIX}.{purpose}",
    }
    if host:
        kwargs["host"] = host
    if params["login_password"]:
        kwargs["password"] = params["login_password"]
    try:
        return psycopg2.connect(**kwargs)
    except psycopg2.Error as error:
        where = host or "the local socket"
        module.fail_json(
            msg=f"cannot connect to database '{params['db']}' as '{params['login_user']}' "
            f"at {where}:{params['port']}: {str(error).strip()}"
        )
    return None  # not reached: fail_json exits
