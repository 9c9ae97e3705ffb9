"""No network but loopback, for the test process and every Python process it starts.

Tests only; never imported by figure_ml. :func:`install` replaces the ``socket`` entry points
that reach another host (``connect``, ``connect_ex``, ``sendto``) and those that ask a
resolver (``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``) with versions that refuse
anything but loopback addresses, loopback names and UNIX sockets. Refused attempts raise
``OSError`` (``socket.gaierror`` for lookups) and are reported to a callback and, when
``FIGURE_ML_NETBLOCK_LOG`` names a file, appended to it as JSON lines, because libraries such as
ultralytics swallow the error of a refused attempt.

Limits: code that opens sockets below Python (a C library's own resolver or sockets, e.g.
libcurl, gRPC core) is not covered; nothing in figure_ml's dependency path does that offline.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import sys
from collections.abc import Callable

#: set to "1" in a child's environment to install the block at interpreter start
ENV_SWITCH = "FIGURE_ML_NETBLOCK"
#: file that collects refused attempts of every process, one JSON object a line
ENV_LOG = "FIGURE_ML_NETBLOCK_LOG"

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}

Record = Callable[[str, object], None]


def is_loopback(host: object) -> bool:
    """True for loopback IPs (v4/v6, with or without a zone), loopback names and no host."""
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _log_to_file(kind: str, target: object) -> None:
    path = os.environ.get(ENV_LOG)
    if not path:
        return
    line = {"pid": os.getpid(), "argv": sys.argv[:3], "kind": kind, "target": repr(target)}
    with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


def install(record: Record | None = None) -> Callable[[], None]:
    """Block non-loopback network in this process; returns a function that undoes it."""
    sock_cls = socket.socket
    saved = {
        "connect": sock_cls.connect,
        "connect_ex": sock_cls.connect_ex,
        "sendto": sock_cls.sendto,
    }
    saved_mod = {
        "getaddrinfo": socket.getaddrinfo,
        "gethostbyname": socket.gethostbyname,
        "gethostbyname_ex": socket.gethostbyname_ex,
    }

    def refuse(kind: str, target: object) -> None:
        _log_to_file(kind, target)
        if record is not None:
            record(kind, target)

    def check(sock: socket.socket, address: object, kind: str) -> None:
        if getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX:
            return
        host = address[0] if isinstance(address, tuple) else address
        if not is_loopback(host):
            refuse(kind, address)
            raise OSError(f"network blocked in tests: {kind} to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        check(self, address, "connect")
        return saved["connect"](self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(self, address, "connect")
        return saved["connect_ex"](self, address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        check(self, args[-1], "sendto")  # sendto(data, address) or sendto(data, flags, address)
        return saved["sendto"](self, data, *args)

    def lookup(name: str) -> Callable[..., object]:
        real = saved_mod[name]

        def blocked(host: object, *args: object, **kwargs: object) -> object:
            if not is_loopback(host):
                refuse(name, host)
                raise socket.gaierror(socket.EAI_NONAME, f"name lookup blocked in tests: {host!r}")
            return real(host, *args, **kwargs)

        return blocked

    sock_cls.connect, sock_cls.connect_ex, sock_cls.sendto = connect, connect_ex, sendto
    for name in saved_mod:
        setattr(socket, name, lookup(name))

    def undo() -> None:
        for name, fn in saved.items():
            setattr(sock_cls, name, fn)
        for name, fn in saved_mod.items():
            setattr(socket, name, fn)

    return undo
