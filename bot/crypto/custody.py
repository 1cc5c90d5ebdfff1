"""Private keys at rest: AES-256-GCM under a rotatable master key, bound to their order."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.errors import CustodyError

_KEY_BYTES = 32
_NONCE_BYTES = 12
# Domain separation: the id and the encryption key come from the master key by different
# HKDF "info" strings, so publishing the id says nothing about the encryption key.
_ID_INFO = b"certdesk key id v1"
_ENC_INFO = b"certdesk custody aes-256-gcm v1"
_AAD_PREFIX = b"certdesk custody v1\x00"
_HOW = (
    "CERTDESK_MASTER_KEY must be 32 random bytes written as base64 or hex "
    "(make one with `openssl rand -base64 32`)."
)


@dataclass(frozen=True)
class Sealed:
    """Ciphertext (with its GCM tag) and what is needed to open it again."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def to_text(self) -> str:
        """One ASCII string for a database column: ``v1.<key id>.<nonce>.<ciphertext>``."""
        enc = base64.urlsafe_b64encode
        return f"v1.{self.key_id}.{enc(self.nonce).decode()}.{enc(self.ciphertext).decode()}"

    @classmethod
    def from_text(cls, text: str) -> Sealed:
        """Parse what ``to_text`` wrote; CustodyError if it is not that."""
        parts = text.strip().split(".")
        try:
            if len(parts) != 4 or parts[0] != "v1":
                raise ValueError("not a sealed value")
            nonce, ciphertext = (
                base64.b64decode(p, altchars=b"-_", validate=True) for p in parts[2:]
            )
            if len(nonce) != _NONCE_BYTES or not parts[1]:
                raise ValueError("not a sealed value")
            return cls(key_id=parts[1], nonce=nonce, ciphertext=ciphertext)
        except (ValueError, binascii.Error):
            raise CustodyError("A stored private key is damaged: it cannot be read.") from None


def parse_master_key(text: str) -> bytes:
    """Decode CERTDESK_MASTER_KEY (base64, standard or URL-safe, or hex) to exactly 32 bytes."""
    value = "".join(text.split())
    if not value:
        raise CustodyError(f"CERTDESK_MASTER_KEY is empty. {_HOW}")
    # 64 hex digits are also valid base64 (of 48 bytes), so hex is tried first.
    if len(value) == 2 * _KEY_BYTES:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    standard = value.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CustodyError(f"CERTDESK_MASTER_KEY is neither base64 nor hex. {_HOW}") from None
    if len(raw) != _KEY_BYTES:
        # The length is safe to say; the value is not.
        raise CustodyError(f"CERTDESK_MASTER_KEY decodes to {len(raw)} bytes, not 32. {_HOW}")
    return raw


def load_or_create_key_file(path: Path) -> bytes:
    """Read the master key file, creating it (mode 0600) with a fresh random key if missing."""
    if not path.exists():
        _create_key_file(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CustodyError(f"The master key file {path} is not a regular file.")
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise CustodyError(
                f"The master key file {path} can be read by other users (mode {mode:04o}). "
                f"Restrict it with `chmod 600 {path}` and check who may have copied it."
            )
        content = path.read_bytes()
    except OSError as exc:
        raise CustodyError(f"The master key file {path} cannot be read: {exc.strerror}.") from None
    if len(content) == _KEY_BYTES:
        return content
    try:
        return parse_master_key(content.decode("ascii"))
    except (UnicodeDecodeError, CustodyError):
        raise CustodyError(
            f"The master key file {path} does not hold a 32-byte key (it has {len(content)} "
            "bytes). Restore it from your backup; if it is lost, keys stored under it are lost."
        ) from None


def key_id(master_key: bytes) -> str:
    """A short stable id for a master key, derived one-way so it reveals nothing."""
    derived = HKDF(algorithm=hashes.SHA256(), length=8, salt=None, info=_ID_INFO).derive(master_key)
    return derived.hex()


class Custody:
    """Seal and open private keys with the current master key; open with previous ones too."""

    def __init__(self, current: bytes, *, previous: Sequence[bytes] = ()) -> None:
        for key in (current, *previous):
            if len(key) != _KEY_BYTES:
                raise CustodyError(f"A master key must be 32 bytes, not {len(key)}. {_HOW}")
        self.current_key_id = key_id(current)
        self._ciphers: dict[str, AESGCM] = {}
        # Current last so it wins should a previous key be configured twice.
        for key in (*previous, current):
            self._ciphers[key_id(key)] = AESGCM(_encryption_key(key))

    def seal(self, plaintext: bytes, *, context: bytes) -> Sealed:
        """Encrypt ``plaintext`` under the current key, bound to ``context`` (e.g. b"order:42")."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        cipher = self._ciphers[self.current_key_id]
        ciphertext = cipher.encrypt(nonce, plaintext, _aad(self.current_key_id, context))
        return Sealed(key_id=self.current_key_id, nonce=nonce, ciphertext=ciphertext)

    def open(self, sealed: Sealed, *, context: bytes) -> bytes:
        """Decrypt ``sealed``; CustodyError if its key is not configured or anything was altered."""
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise CustodyError(
                f"This private key is encrypted under master key {sealed.key_id}, which is "
                "not configured. Add that key back (as a previous key) to read it."
            )
        try:
            return cipher.decrypt(sealed.nonce, sealed.ciphertext, _aad(sealed.key_id, context))
        except (InvalidTag, ValueError):
            raise CustodyError(
                "This private key cannot be decrypted: the master key is wrong or the data "
                "was altered."
            ) from None

    def reseal(self, sealed: Sealed, *, context: bytes) -> Sealed:
        """Re-encrypt under the current master key (for rotation); a no-op if already so."""
        if sealed.key_id == self.current_key_id:
            self.open(sealed, context=context)  # still prove it is intact
            return sealed
        return self.seal(self.open(sealed, context=context), context=context)


def _encryption_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_ENC_INFO).derive(master_key)


def _aad(kid: str, context: bytes) -> bytes:
    # The key id is authenticated too, so a sealed value cannot be relabelled.
    return _AAD_PREFIX + kid.encode("ascii") + b"\x00" + context


def _create_key_file(path: Path) -> None:
    """Write a new key atomically: a 0600 temp file linked into place, so no reader sees half."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            # Text, not raw bytes, so an operator can back it up or move it to the env variable.
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # If another process created it first, use theirs.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def order_key_context(order_id: int) -> bytes:
    """Authenticated data binding a sealed private key to its order."""
    return f"order:{order_id}:private-key".encode()
