"""Free local ports for the servers the demo and the tests start.

A port is chosen below the kernel's range of ephemeral ports where it can: the kernel never
gives those to a socket on its own (an outgoing connection's local port, a bind to port 0),
so between choosing a port and a server binding it, only another server told that very port
could take it. Tests run in several processes at once, each starting servers; with ports
from the ephemeral range one of their outgoing connections could take the port meanwhile.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Linux's range of ephemeral ports (its low end is what matters here).
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The lowest port chosen: above the well-known and most registered services' ports.
LOWEST = 20000
#: Its own source of chance: a test that seeds ``random`` must not make two processes choose
#: the same ports.
_CHANCE = random.SystemRandom()
#: Ports this process has given out: never given twice (two servers told one port).
_given: set[int] = set()


def free_port(*, udp_too: bool = False) -> int:
    """Return a port that is free on 127.0.0.1 now (TCP, and UDP when asked)."""
    below = _ephemeral_low()
    for _ in range(50):
        port = _CHANCE.randrange(LOWEST, below) if below > LOWEST + 1000 else 0
        if port in _given:
            continue
        try:
            port = _bindable(port, udp_too=udp_too)
        except OSError:
            continue
        _given.add(port)
        return port
    raise RuntimeError("no free local port found")


def _bindable(port: int, *, udp_too: bool) -> int:
    """``port`` (0: one the kernel picks), once a TCP (and UDP) socket could bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", port))
        port = int(tcp.getsockname()[1])
        if udp_too:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
        return port


def _ephemeral_low() -> int:
    """The lowest ephemeral port (0 where the system does not say)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


@contextmanager
def reserved_port() -> Iterator[int]:
    """A free local TCP port, held until the block ends, for a server bound right after it.

    Between ``free_port`` and the server's bind another server could be told the same port;
    a bound socket keeps it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        for _ in range(3):  # another server may bind it between the two
            try:
                held.bind(("127.0.0.1", free_port()))
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free local port could be held")
        yield int(held.getsockname()[1])
