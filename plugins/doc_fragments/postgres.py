# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The connection options of module_utils/postgres.py connection_argument_spec().
    DOCUMENTATION = r"""
options:
  db:
    description: Name of the database.
    type: str
    required: true
  login_host:
    description: Host name or address of the server. Empty uses the local socket.
    type: str
    default: ""
  login_unix_socket:
    description: Directory of the server's Unix socket; wins over O(login_host).
    type: path
    default: ""
  port:
    description: Port of the server.
    type: int
    default: 5432
  login_user:
    description: Role to connect as.
    type: str
    default: postgres
  login_password:
    description: Password of O(login_user), when the server asks for one.
    type: str
    default: ""
  connect_timeout:
    description: Seconds to wait for a connection before failing.
    type: int
    default: 10
"""
