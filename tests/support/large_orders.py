"""The largest order certdesk sells, as a person enters it: 250 names in an attached file."""

from __future__ import annotations

from typing import Any

from bot.products import MAX_DOMAINS
from bot.views import ids
from support.app_fixtures import Running
from support.journeys import open_complete, register

#: 250 names of 41 characters: over 10,000 characters, more than three Domains boxes hold.
NAMES = [f"app{i:03d}.regional-services.example-corp.com" for i in range(MAX_DOMAINS)]


def names_file(names: list[str], *, filename: str = "names.txt", header: str = "") -> dict:
    """A file_input value the emulator stores and serves, as Slack would."""
    content = (header + "\n" if header else "") + "\n".join(names) + "\n"
    return {"filename": filename, "content": content.encode()}


def register_large(certdesk: Running, user: str, *, count: int = MAX_DOMAINS) -> str:
    """Register a multi-domain DV order of ``count`` names and open its Complete modal."""
    ref = register(certdesk, user, **{ids.DOMAIN_COUNT: str(count)})
    open_complete(certdesk, user, ref)
    return ref


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """Each text input's prefilled value in a modal, by block id."""
    return {
        b["block_id"]: b["element"].get("initial_value")
        for b in view["blocks"]
        if b.get("type") == "input"
    }
