"""Stopping the HTTP server really stops it, even with a keep-alive connection still open."""

from __future__ import annotations

import http.client
from collections.abc import Callable

from support.app_fixtures import Running


def test_stop_ends_the_server_thread_with_a_connection_open(
    start_certdesk: Callable[..., Running],
) -> None:
    certdesk = start_certdesk()
    host, port = certdesk.http.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/healthz")  # HTTP/1.1: the connection stays open afterwards
    assert connection.getresponse().read()
    certdesk.http.stop()
    assert not certdesk.http.thread.is_alive()
    connection.close()
