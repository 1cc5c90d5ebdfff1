"""How listeners answer people: errors they can act on, and an incident id for the rest."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.errors import Error
from bot.services import Services
from bot.views.common import esc
from bot.views.messages import message

logger = logging.getLogger(__name__)


def incident_id() -> str:
    """A short id a person can quote to whoever runs certdesk."""
    return uuid.uuid4().hex[:8]


def something_went_wrong(incident: str) -> str:
    """The sentence shown when certdesk itself failed."""
    return (
        f"Something went wrong on certdesk's side (incident `{incident}`). Nothing you typed "
        "was lost; try again in a minute, or quote the incident to whoever runs certdesk."
    )


def mrkdwn_words(exc: Error) -> str:
    """An error's message for a mrkdwn field: quoted text made inert (see Error.markup)."""
    return str(exc) if exc.markup else esc(str(exc))


def guarded(tell: Callable[[str], Any], work: Callable[[], Any], *, plain: bool = False) -> Any:
    """Run ``work``; tell the person an Error's message, or an incident id for anything else.

    Messages go out as mrkdwn with quoted text made inert, or as they are when ``tell`` shows
    ``plain`` text (a modal's field error).
    """
    try:
        return work()
    except Error as exc:
        tell(str(exc) if plain else mrkdwn_words(exc))
    except Exception:
        incident = incident_id()
        logger.exception("incident %s", incident)
        tell(something_went_wrong(incident))
    return None


def dm(services: Services, user_id: str, text: str, blocks: Sequence[Block] = ()) -> None:
    """DM the user now (from work already done after the ack)."""
    services.notifier.dm(user_id, message(text, blocks))


def dm_later(services: Services, user_id: str) -> Callable[[str], None]:
    """Tell the user something in a DM, after the ack (for buttons, which have no reply)."""

    def tell(text: str) -> None:
        services.background.submit(dm, services, user_id, text)

    return tell
