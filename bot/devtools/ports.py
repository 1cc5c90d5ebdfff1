"""Free local ports for the servers the demo and the tests start."""

from __future__ import annotations

import socket


def free_port(*, udp_too: bool = False) -> int:
    """Return a port that is free on 127.0.0.1 now (TCP, and UDP when asked)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            if not udp_too:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free local port found")
