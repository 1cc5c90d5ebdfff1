"""Finding live Slack markup (mentions, channel pings, links) in what certdesk rendered."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

LIVE = re.compile(r"<(?:[!@#]|https?:|mailto:)[^<>]*>?", re.IGNORECASE)


def mrkdwn_strings(rendered: object) -> Iterator[str]:
    """Every string Slack reads as mrkdwn: mrkdwn text objects and messages' top-level text.

    Plain-text objects and input values are shown as typed and never parsed for markup.
    """
    if isinstance(rendered, dict):
        if rendered.get("type") == "mrkdwn" and isinstance(rendered.get("text"), str):
            yield rendered["text"]
            return
        if "blocks" in rendered and isinstance(rendered.get("text"), str):
            yield rendered["text"]  # a message's fallback text is mrkdwn too
        for key, value in rendered.items():
            if not (key == "text" and isinstance(value, str)):
                yield from mrkdwn_strings(value)
    elif isinstance(rendered, list | tuple):
        for item in rendered:
            yield from mrkdwn_strings(item)


def live_markup(rendered: object, *, people: Sequence[str] = ()) -> list[str]:
    """Live markup in ``rendered`` other than mentions of ``people`` and Slack dates."""
    allowed = re.compile("|".join([*(f"<@{re.escape(p)}>" for p in people), r"<!date\^"]))
    found = []
    for text in mrkdwn_strings(rendered):
        found += [m.group(0) for m in LIVE.finditer(text) if not allowed.match(text, m.start())]
    return found
