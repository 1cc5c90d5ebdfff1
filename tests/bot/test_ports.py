"""Ports for the servers tests and the demo start: never one the kernel hands out itself,
never one given out before."""

from __future__ import annotations

import socket

import pytest

from bot.devtools.ports import LOWEST, _ephemeral_low, free_port, reserved_port


def test_ports_are_chosen_below_the_ephemeral_range_and_are_free() -> None:
    low = _ephemeral_low()
    if low <= LOWEST + 1000:
        pytest.skip("this system does not say where its ephemeral ports start")
    ports = [free_port() for _ in range(20)] + [free_port(udp_too=True) for _ in range(5)]
    assert all(LOWEST <= port < low for port in ports), sorted(ports)
    assert len(set(ports)) == len(ports), "a process never gives out one port twice"
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))


def test_a_reserved_port_is_held_until_the_block_ends() -> None:
    with reserved_port() as port, socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", port))
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
