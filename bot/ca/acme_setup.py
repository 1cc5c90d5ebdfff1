"""Build the ``acme`` backend from Settings: sealed account key, resolver, CAA identities."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.ca.acme import AcmeBackend, generate_account_key
from bot.ca.acme.caa import known_identities
from bot.config import Settings
from bot.crypto import Custody
from bot.crypto.custody import Sealed
from bot.dnscheck import Resolver
from bot.errors import ConfigError
from storage.ca_state import DatabaseStateStore
from storage.models import SealedSecret

logger = logging.getLogger(__name__)

#: SealedSecret.name is at most this long.
_NAME_LIMIT = 128


def build_acme(
    settings: Settings, *, sessions: sessionmaker[Session], custody: Custody
) -> AcmeBackend:
    """The ACME backend for CERTDESK_ACME_*; offline and fast (the account registers on first use).

    Raises ConfigError for a missing directory or an unusable resolver, CustodyError when
    the stored account key cannot be opened with the configured master key.
    """
    directory = settings.acme_directory
    if not directory:
        raise ConfigError("CERTDESK_ACME_DIRECTORY: required when CERTDESK_CA=acme")
    return AcmeBackend(
        directory_url=directory,
        account_key_pem=account_key(sessions, custody, directory_url=directory),
        contact_email=settings.acme_email,
        challenge=settings.acme_challenge,
        store=DatabaseStateStore(sessions, "acme"),
        ca_bundle=settings.acme_ca_bundle,
        # The directory's meta.caaIdentities are read when first needed, between these two.
        caa_identities=settings.acme_caa_identities,
        caa_fallback=known_identities(directory),
        # dns-01: the backend checks the TXT records are visible before asking the CA.
        resolver=Resolver(settings.dns_resolver),
    )


def secret_name(directory_url: str) -> str:
    """The sealed_secrets row holding the account key for one ACME directory."""
    name = f"acme-account:{directory_url}"
    if len(name) <= _NAME_LIMIT:
        return name
    return "acme-account:sha256:" + hashlib.sha256(directory_url.encode()).hexdigest()


def account_key(sessions: sessionmaker[Session], custody: Custody, *, directory_url: str) -> bytes:
    """The account key for ``directory_url``, created and sealed the first time it is needed.

    One key per directory: staging and production accounts never share a key. The key
    exists in clear only in memory; the database holds it sealed, bound to its row name.
    """
    name = secret_name(directory_url)
    context = name.encode()
    with sessions.begin() as session:
        row = session.get(SealedSecret, name)
        if row is not None:
            return custody.open(_sealed(row), context=context)
    pem = generate_account_key()
    sealed = custody.seal(pem, context=context)
    try:
        with sessions.begin() as session:
            session.add(
                SealedSecret(
                    name=name,
                    key_id=sealed.key_id,
                    nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext,
                )
            )
    except IntegrityError:
        # Another process created it first: everyone must use the same account.
        with sessions.begin() as session:
            row = session.get(SealedSecret, name)
            assert row is not None
            return custody.open(_sealed(row), context=context)
    logger.info("created a new ACME account key for %s", directory_url)
    return pem


def _sealed(row: SealedSecret) -> Sealed:
    return Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
