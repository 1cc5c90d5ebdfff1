"""The baseline: a bare WSGI app answering "200 ok", served exactly as certdesk is.

python bench/bare_wsgi.py PORT [WORKERS]   # waitress (8 threads) or gunicorn (gthread)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read the body (as Bolt would) and answer a fixed 200."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def main() -> None:
    """Serve ``app`` with the server settings `certdesk serve` uses for this many workers."""
    port, workers = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if workers == 1:
        from bot.serve import http_server  # the same threads, limits and sparse warnings

        http_server(app, host="127.0.0.1", port=port).run()
        return
    from gunicorn.app.base import BaseApplication

    class Bare(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 8,
                "keepalive": 5,
                "loglevel": "warning",
                "control_socket_disable": True,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Iterable[bytes]]:
            return app

    Bare().run()


if __name__ == "__main__":
    main()
