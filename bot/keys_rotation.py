"""Master keys: where certdesk gets them, a start-up check, and rotation to a new one.

Key-file mode (no CERTDESK_MASTER_KEY): ``certdesk keys rotate`` writes the new key to
``master.key.next`` (0600), re-seals every row under it, keeps the old key as
``master.key.previous`` and moves the new one into ``master.key``. Every row is re-sealed in
its own transaction, and certdesk opens with master.key, .previous and .next alike, so a
crash at any point leaves every key readable; running the command again finishes the job.

Environment mode: the new key comes from another variable (``--new-key-env VAR``); older
keys stay readable through CERTDESK_PREVIOUS_MASTER_KEYS until everything is re-sealed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.crypto import (
    Custody,
    Sealed,
    key_id,
    load_or_create_key_file,
    order_key_context,
    parse_master_key,
)
from bot.crypto.tokens import SEALED_PREFIX, open_token, seal_token, token_context
from bot.errors import ConfigError, CustodyError
from storage import sealed as sealed_rows
from storage import workspaces as token_rows
from storage.models import PrivateKey, SealedSecret

logger = logging.getLogger(__name__)

KEY_FILE = "master.key"
PREVIOUS_SUFFIX = ".previous"
NEXT_SUFFIX = ".next"


@dataclass(frozen=True)
class MasterKeys:
    """The key to seal with, the keys that may still open older rows, and where they came from."""

    current: bytes
    previous: tuple[bytes, ...]
    source: str  # words naming where the current key is configured

    def custody(self) -> Custody:
        """Custody sealing under ``current`` and opening with any of the keys."""
        return Custody(self.current, previous=self.previous)

    def ids(self) -> set[str]:
        """Key ids of every configured key."""
        return {key_id(k) for k in (self.current, *self.previous)}


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    key_id: str
    resealed: int
    already: int


def key_file(settings: Settings) -> Path:
    """The master key file in the data directory."""
    return settings.data_dir / KEY_FILE


def master_keys(settings: Settings, *, create: bool = True) -> MasterKeys:
    """Read the configured master keys; ConfigError naming the variable or file to fix."""
    previous = [_parse("CERTDESK_PREVIOUS_MASTER_KEYS", k) for k in settings.previous_master_keys]
    if settings.master_key:
        current = _parse("CERTDESK_MASTER_KEY", settings.master_key)
        return MasterKeys(current, tuple(previous), "CERTDESK_MASTER_KEY")
    path = key_file(settings)
    if not path.exists() and not create:
        raise ConfigError(f"{path}: the master key file is missing (or set CERTDESK_MASTER_KEY).")
    current = _read_key_file(path)
    # Left by a rotation (finished or interrupted): still able to open rows sealed under it.
    for extra in (_sibling(path, PREVIOUS_SUFFIX), _sibling(path, NEXT_SUFFIX)):
        if extra.exists():
            previous.append(_read_key_file(extra))
    return MasterKeys(current, tuple(previous), str(path))


def check_database(settings: Settings, sessions: sessionmaker[Session]) -> MasterKeys:
    """The master keys for a start-up, refusing to invent a key file when sealed keys exist.

    Rows sealed under keys certdesk was not given are logged as an error naming the fix; each
    download of such a key says so to its owner too.
    """
    with sessions.begin() as session:
        counts = sealed_rows.master_key_use(session)
    if not settings.master_key and not key_file(settings).exists() and counts:
        raise ConfigError(
            f"{key_file(settings)}: the master key file is missing, but the database holds "
            f"{sum(counts.values())} sealed key(s) under master key "
            f"{', '.join(sorted(counts))}. Restore master.key from your backup (or set "
            "CERTDESK_MASTER_KEY to that key); a new key could not open them."
        )
    keys = master_keys(settings)
    unknown = {kid: n for kid, n in counts.items() if kid not in keys.ids()}
    if unknown:
        logger.error(
            "%d sealed key(s) in the database are under master key(s) %s, which certdesk was "
            "not given (it seals with %s from %s). Configure them in CERTDESK_MASTER_KEY or "
            "CERTDESK_PREVIOUS_MASTER_KEYS, or restore the master.key they were made with; "
            "until then those keys cannot be downloaded.",
            sum(unknown.values()),
            ", ".join(sorted(unknown)),
            key_id(keys.current),
            keys.source,
        )
    return keys


def reseal_all(sessions: sessionmaker[Session], custody: Custody) -> Rotation:
    """Re-seal every stored key and secret under ``custody``'s current key, one row at a time."""
    resealed = already = 0
    with sessions.begin() as session:
        key_rows = sealed_rows.sealed_key_orders(session)
        secret_rows = sealed_rows.secret_names(session)
    for order_id in key_rows:
        with sessions.begin() as session:
            row = session.get(PrivateKey, order_id, with_for_update=True)
            if row is None or row.ciphertext is None:
                continue  # purged: nothing left to protect
            sealed = _reseal(
                custody, row, context=order_key_context(order_id), what=f"order {order_id}"
            )
            resealed, already = _count(row, sealed, resealed, already)
    for name in secret_rows:
        with sessions.begin() as session:
            secret = session.get(SealedSecret, name, with_for_update=True)
            if secret is None:
                continue
            sealed = _reseal(custody, secret, context=name.encode(), what=f"secret {name}")
            resealed, already = _count(secret, sealed, resealed, already)
    tokens, tokens_already = seal_tokens(sessions, custody)
    return Rotation(
        key_id=custody.current_key_id,
        resealed=resealed + tokens,
        already=already + tokens_already,
    )


def seal_tokens(
    sessions: sessionmaker[Session], custody: Custody, *, plain_only: bool = False
) -> tuple[int, int]:
    """Seal the workspaces' Slack tokens under the current key, one row at a time; with
    ``plain_only`` (`certdesk keys seal-tokens`) only those stored before sealing existed.

    Returns (tokens sealed or re-sealed now, tokens left as they were).
    """
    done = already = 0
    with sessions.begin() as session:
        listed = list(token_rows.token_rows(session))
    for seen in listed:
        if plain_only and all(v.startswith(SEALED_PREFIX) for v in seen.values.values()):
            # Every start-up runs this: a row with nothing to seal costs no locking read.
            already += len(seen.values)
            continue
        with sessions.begin() as session:
            row = token_rows.token_row(session, seen.table, seen.row_id, lock=True)
            if row is None:
                continue
            if plain_only:
                todo = {f: v for f, v in row.values.items() if not v.startswith(SEALED_PREFIX)}
            else:
                todo = row.values
            changed = {}
            for field, value in todo.items():
                context = token_context(row.enterprise_id, row.team_id, field)
                try:
                    new = seal_token(custody, value, context=context)
                except CustodyError as exc:
                    raise CustodyError(f"workspace {row.team_id} {field}: {exc}") from None
                if new != value:
                    changed[field] = new
            if changed:
                token_rows.set_tokens(session, row, changed)
            done, already = done + len(changed), already + len(row.values) - len(changed)
    return done, already


def verify(sessions: sessionmaker[Session], custody: Custody) -> int:
    """Open every stored key and secret with ``custody``; return how many (CustodyError if not)."""
    opened = 0
    with sessions.begin() as session:
        for row in sealed_rows.sealed_keys(session):
            custody.open(_sealed(row), context=order_key_context(row.order_id))
            opened += 1
        for secret in sealed_rows.sealed_secrets(session):
            custody.open(_sealed(secret), context=secret.name.encode())
            opened += 1
        for tokens in token_rows.token_rows(session):
            for field, value in tokens.values.items():
                context = token_context(tokens.enterprise_id, tokens.team_id, field)
                open_token(custody, value, context=context)
                opened += 1
    return opened


def rotate_key_file(settings: Settings, sessions: sessionmaker[Session]) -> Rotation:
    """Rotate the master key file (see the module docstring); safe to run again after a crash."""
    path = key_file(settings)
    keys = master_keys(settings, create=False)
    upcoming = _sibling(path, NEXT_SUFFIX)
    new = load_or_create_key_file(upcoming)  # made once, reused if a rotation was interrupted
    olds = tuple(k for k in (keys.current, *keys.previous) if k != new)
    result = reseal_all(sessions, Custody(new, previous=olds))
    verify(sessions, Custody(new))
    # Keep the old key next to the new one (backups made before now need it), then switch.
    _write_private(_sibling(path, PREVIOUS_SUFFIX), path.read_bytes())
    os.replace(upcoming, path)
    return result


def rotate_to(settings: Settings, sessions: sessionmaker[Session], *, new_key: bytes) -> Rotation:
    """Re-seal everything under ``new_key`` (environment mode); safe to run again."""
    keys = master_keys(settings, create=False)
    olds = tuple(k for k in (keys.current, *keys.previous) if k != new_key)
    result = reseal_all(sessions, Custody(new_key, previous=olds))
    verify(sessions, Custody(new_key))
    return result


def parse_new_key(variable: str, value: str | None) -> bytes:
    """The new master key from the variable the operator named."""
    if not value:
        raise ConfigError(
            f"{variable}: not set. Put the new key in it first, e.g. "
            f'{variable}="$(openssl rand -base64 32)" (and keep a copy somewhere safe).'
        )
    return _parse(variable, value)


def _reseal(
    custody: Custody, row: PrivateKey | SealedSecret, *, context: bytes, what: str
) -> Sealed:
    try:
        return custody.reseal(_sealed(row), context=context)
    except CustodyError as exc:
        raise CustodyError(f"{what}: {exc}") from None


def _count(
    row: PrivateKey | SealedSecret, sealed: Sealed, resealed: int, already: int
) -> tuple[int, int]:
    if sealed.key_id == row.key_id and sealed.nonce == row.nonce:
        return resealed, already + 1
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    return resealed + 1, already


def _sealed(row: PrivateKey | SealedSecret) -> Sealed:
    assert row.ciphertext is not None
    return Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)


def _parse(variable: str, value: str) -> bytes:
    try:
        return parse_master_key(value)
    except CustodyError as exc:
        # parse_master_key speaks of CERTDESK_MASTER_KEY; name the variable actually at fault.
        raise ConfigError(str(exc).replace("CERTDESK_MASTER_KEY", variable)) from None


def _read_key_file(path: Path) -> bytes:
    try:
        return load_or_create_key_file(path)
    except CustodyError as exc:
        raise ConfigError(str(exc)) from None


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _write_private(path: Path, content: bytes) -> None:
    """Write a 0600 file atomically (temp file, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
