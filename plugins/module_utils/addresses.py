# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A host's own address, read locally: the IPv4 address of the interface its
default route leaves by, which is the address Ansible's setup module gives
as default_ipv4.address on a host with one default route. It sends nothing."""

from __future__ import annotations

import fcntl
import socket
import struct

ROUTES = "/proc/net/route"
SIOCGIFADDR = 0x8915


def default_interface(routes: str = ROUTES) -> str:
    """The interface of the default route with the lowest metric; empty when
    there is no default route."""
    best: tuple[int, str] | None = None
    with open(routes) as handle:
        next(handle, None)  # the header
        for line in handle:
            fields = line.split()
            if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
                continue
            if not int(fields[3], 16) & 0x1:  # RTF_UP
                continue
            metric = int(fields[6])
            if best is None or metric < best[0]:
                best = (metric, fields[0])
    return best[1] if best else ""


def interface_address(interface: str) -> str:
    """The primary IPv4 address of an interface; empty when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return ""
    return socket.inet_ntoa(packed[20:24])


def default_ipv4(routes: str = ROUTES) -> str:
    """The address of the interface of the default route; empty without one."""
    interface = default_interface(routes)
    return interface_address(interface) if interface else ""
