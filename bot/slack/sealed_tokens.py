"""Workspace tokens at rest: sealed under the master key like private keys.

slack-sdk's SQLAlchemy installation store writes bot, user and refresh tokens as plain
text. ``SealedInstallationStore`` is that store with every token sealed before it is written
and opened after it is read, bound to its workspace and field, so a copied row cannot be
replayed as another workspace's token. A token stored before sealing existed is read as it
is; ``certdesk keys rotate`` (and every start-up, see ``seal_plain_tokens``) seals it.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from bot.crypto import Custody
from bot.crypto.tokens import BOT_TOKENS, INSTALLATION_TOKENS, open_token, seal_token, token_context
from bot.errors import CustodyError

logger = logging.getLogger(__name__)

Entity = TypeVar("Entity", Installation, Bot)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's store, with tokens sealed in the database and plain only in memory."""

    def __init__(self, client_id: str, engine: Engine, *, custody: Custody) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self._custody = custody

    def save(self, installation: Installation) -> None:
        super().save(self._sealed(installation, INSTALLATION_TOKENS))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._sealed(bot, BOT_TOKENS))

    def find_bot(self, **kwargs: Any) -> Bot | None:
        return self._opened(super().find_bot(**kwargs), BOT_TOKENS)

    def find_installation(self, **kwargs: Any) -> Installation | None:
        return self._opened(super().find_installation(**kwargs), INSTALLATION_TOKENS)

    def _sealed(self, entity: Entity, fields: tuple[str, ...]) -> Entity:
        sealed = copy.copy(entity)  # the caller keeps its plain tokens
        for field in fields:
            value = getattr(entity, field)
            if value:
                context = token_context(entity.enterprise_id, entity.team_id, field)
                setattr(sealed, field, seal_token(self._custody, value, context=context))
        return sealed

    def _opened(self, entity: Entity | None, fields: tuple[str, ...]) -> Entity | None:
        if entity is None:
            return None
        try:
            for field in fields:
                value = getattr(entity, field)
                if value:
                    context = token_context(entity.enterprise_id, entity.team_id, field)
                    setattr(entity, field, open_token(self._custody, value, context=context))
        except CustodyError as exc:
            # The workspace then reads as not installed: certdesk cannot speak for it until
            # the master key its tokens were sealed with is configured again (or it reinstalls).
            logger.error(
                "workspace %s: its Slack tokens cannot be opened (%s) Configure the master key "
                "they were sealed with, or reinstall certdesk in that workspace.",
                entity.team_id,
                exc,
            )
            return None
        return entity
