"""HTTP ports of local jobs: take the asked port when free, else another free one.

When the asked port (``http_port``) is taken on 127.0.0.1, a free port is chosen and every
occurrence of the asked port number as a whole number in the command's arguments and env values
is replaced by it (``--port=8888`` → ``--port=40123``); the job also gets the port in
``NEURO_JUPYTER_HTTP_PORT``. The store keeps both (``asked_port``, ``http_port``); ps and status
show the actual one.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Collection

from ..backends.base import ProcessSpec


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` and it can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_listening(port: int, timeout: float = 0.2) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose_port(asked: int, taken: Collection[int] = ()) -> int:
    """``asked`` if it is free (and not reserved by another job in ``taken``), else a free one."""
    if asked not in taken and port_is_free(asked):
        return asked
    while True:
        port = free_port()
        if port not in taken:
            return port


def rewrite_port(spec: ProcessSpec, asked: int, actual: int) -> ProcessSpec:
    """``spec`` with the number ``asked`` replaced by ``actual`` in argv and env values."""
    if asked == actual:
        return spec
    pattern = re.compile(rf"(?<!\d){asked}(?!\d)")
    argv = tuple(pattern.sub(str(actual), arg) for arg in spec.argv)
    env = {
        key: value if key == "PATH" else pattern.sub(str(actual), value)
        for key, value in spec.env.items()
    }
    return dataclasses.replace(spec, argv=argv, env=env)
