"""How listeners answer people: errors they can act on, and an incident id for the rest."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.errors import Error, NotFound, SlackError
from bot.services import Services
from bot.views.common import esc
from bot.views.messages import message
from handlers.one_thread import OneThread, Runs
from handlers.values import user_id as acting_user
from storage import kept_connection

logger = logging.getLogger(__name__)


#: How long a request's own work may take before the person gets a polite answer instead:
#: Slack waits 3 s for the ack, and the engine's request timeouts end most waits sooner.
ANSWER_WITHIN = 2.5

#: Said when the database did not answer within ANSWER_WITHIN.
SLOW = (
    "certdesk's database is not answering just now, so I could not do that. Try again in a "
    "minute; if it keeps happening, tell whoever runs certdesk."
)
#: Said in a modal kept open when the database did not answer in time.
SLOW_FORM = (
    "certdesk's database did not answer in time, so this may not be saved. What you typed is "
    "still here: try again in a minute (`/cert list` shows what went through)."
)

#: What the engine raises when the database is down, frozen or its pool exhausted.
DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)

# Request work runs here so that the request's thread can answer on time whatever the
# database does; a frozen database holds at most these threads, never the web server's.
REQUEST_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="certdesk-prompt")

#: Work that only reads a SQLite file runs here instead, on one thread. Such a read is CPU
#: work under the GIL, so more threads cannot run two at once; each read they ran side by
#: side only handed the GIL to another thread and waited to get it back (two context switches
#: each time sqlite3 let go of it). On one thread a served `/cert list` switched threads 11
#: times instead of 37 and served 1.3x the requests (README "Performance"). In WAL mode
#: (storage.db sets it) these reads never wait for a writer. A read stalled on its disk
#: holds this thread: the reads queued behind it are answered in words in time like it, and
#: those whose answer was already given are dropped, not run late.
#: The thread keeps one connection to the file for these reads (storage.kept_connection),
#: and takes each read without a pool's futures (handlers.one_thread).
SQLITE_READS = OneThread("certdesk-reads", initializer=kept_connection.keep_on_this_thread)


class Reply:
    """Stands in for ``ack`` in work that may finish late: the listener acks once, on time."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def __call__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


def in_time(
    work: Callable[[], Any], *, seconds: float = ANSWER_WITHIN, pool: Runs = REQUEST_POOL
) -> bool:
    """Run ``work`` (already ``guarded``) on ``pool``; False when it has not finished within
    ``seconds``.

    Late work that has begun goes on and its effects stand (a modal it opens, a DM), but its
    answer to the request is dropped: the person has been told to try again. Work still
    waiting for a thread by then is not run at all.
    """
    # The request's context (its workspace, its log fields) goes with the work to the pool.
    context = contextvars.copy_context()
    running = pool.submit(context.run, work)
    try:
        running.result(timeout=seconds)
    except TimeoutError:  # a pool future's too (concurrent.futures.TimeoutError is it)
        running.cancel()
        logger.warning("request work took over %.1f s (database slow?): answered politely", seconds)
        return False
    return True


def ack_in_time(
    ack: Callable[..., Any], reply: Reply, work: Callable[[], Any], **late: Any
) -> None:
    """Ack with what ``work`` (already guarded) gave ``reply`` in time, else with ``late``."""
    ack(**answer_in_time(reply, work, **late))


def answer_in_time(
    reply: Reply, work: Callable[[], Any], *, pool: Runs = REQUEST_POOL, **late: Any
) -> dict[str, Any]:
    """What ``work`` (already guarded) gave ``reply`` if it finished in time on ``pool``,
    else ``late``."""
    return reply.kwargs if in_time(work, pool=pool) else late


def keep_open(errors: dict[str, str]) -> dict[str, Any]:
    """A view_submission ack that keeps the modal (and what was typed) open with ``errors``."""
    return {"response_action": "errors", "errors": errors}


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
    except DATABASE_AWAY as exc:
        # The database is down or frozen: one short line, and words instead of an incident.
        logger.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
        tell(SLOW)
    except Exception:
        incident = incident_id()
        logger.exception("incident %s", incident)
        tell(something_went_wrong(incident))
    return None


def dm(services: Services, user_id: str, text: str, blocks: Sequence[Block | dict] = ()) -> None:
    """DM the user now (from work already done after the ack)."""
    services.notifier.dm(user_id, message(text, blocks))


def later(services: Services, body: dict[str, Any], work: Callable[[str], Any]) -> None:
    """After the ack: run ``work(user_id)`` in the background; its refusals reach the user by DM.

    A button's listener acks and returns at once (the ack is the whole HTTP answer); the
    database is touched only here, and a failure is told in words, never silence.
    """
    try:
        user_id = acting_user(body)
    except NotFound:
        logger.warning("an interaction without a user: nobody to answer")
        return
    after_ack(services, user_id, lambda: work(user_id))


def after_ack(services: Services, user_id: str, work: Callable[[], Any]) -> None:
    """Run ``work`` in the background; its refusals and failures reach ``user_id`` by DM."""

    def tell(text: str) -> None:
        try:
            dm(services, user_id, text)
        except SlackError as exc:  # e.g. a user id Slack does not know: one line, no traceback
            logger.warning("could not DM %.40s: %s", user_id, exc.code or type(exc).__name__)

    services.background.submit(guarded, tell, work)


def open_modal(client: WebClient, trigger_id: object, view: View) -> None:
    """``views.open``; a refusal (an expired or unknown trigger) becomes a sentence to show."""
    try:
        client.views_open(trigger_id=str(trigger_id or ""), view=view)
    except SlackApiError as exc:
        logger.warning("views.open refused: %s", exc.response.get("error"))
        raise Error(
            "Slack did not let me open the form (the click may have been too long ago). "
            "Press the button again."
        ) from None
