"""Reading what is sealed under the master keys: private keys and the backends' secrets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.crypto.tokens import sealed_key_id
from storage import workspaces
from storage.models import PrivateKey, SealedSecret


def sealed_key_orders(session: Session) -> list[int]:
    """Orders that have a private-key row (sealed or purged)."""
    return list(session.scalars(select(PrivateKey.order_id)))


def secret_names(session: Session) -> list[str]:
    """Names of the sealed backend secrets (an ACME account key, ...)."""
    return list(session.scalars(select(SealedSecret.name)))


def sealed_keys(session: Session) -> Iterator[PrivateKey]:
    """Every private key still sealed (not purged)."""
    yield from session.scalars(select(PrivateKey).where(PrivateKey.ciphertext.is_not(None)))


def sealed_secrets(session: Session) -> Iterator[SealedSecret]:
    """Every sealed backend secret."""
    yield from session.scalars(select(SealedSecret))


def master_key_use(session: Session) -> Counter[str]:
    """How many sealed values each master key id protects (a damaged token: none)."""
    counts: Counter[str] = Counter()
    # Counted by the database (this runs at every start-up): one row per key id, not per key.
    keys = select(PrivateKey.key_id, func.count()).where(PrivateKey.ciphertext.is_not(None))
    secrets = select(SealedSecret.key_id, func.count())
    for query in (keys.group_by(PrivateKey.key_id), secrets.group_by(SealedSecret.key_id)):
        for kid, n in session.execute(query):
            counts[kid] += int(n)
    for tokens in workspaces.token_rows(session):
        for value in tokens.values.values():
            if (token_kid := sealed_key_id(value)) is not None:
                counts[token_kid] += 1
    return counts
