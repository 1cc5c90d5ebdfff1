"""WSGI environs for requests signed as Slack signs them (for calling the edge in-process)."""

from __future__ import annotations

import io
import time
from typing import Any

from slack_sdk.signature import SignatureVerifier


def signed_environ(
    body: bytes, *, secret: str, ts: str | None = None, sign: bool = True, **extra: Any
) -> dict[str, Any]:
    """A POST to /slack/events carrying ``body``, signed with ``secret`` unless ``sign`` is
    False, at ``ts`` (now by default); ``extra`` keys replace or add environ entries."""
    ts = str(int(time.time())) if ts is None else ts
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
    }
    if sign:
        env["HTTP_X_SLACK_SIGNATURE"] = SignatureVerifier(secret).generate_signature(
            timestamp=ts, body=body.decode("utf-8", "replace")
        )
    env.update(extra)
    return env
