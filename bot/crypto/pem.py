"""Find and name the PEM blocks in what a person uploaded or pasted."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

# Labels are matched loosely (any case, extra spaces) because pasted text often is mangled.
_BLOCK = re.compile(
    rb"-----\s*BEGIN ([A-Z0-9 ]+?)\s*-----(.*?)-----\s*END \1\s*-----",
    re.DOTALL | re.IGNORECASE,
)
_BEGIN = re.compile(rb"-----\s*BEGIN ([A-Z0-9 ]+?)\s*-----", re.IGNORECASE)

#: What each PEM label is, in the words shown to people.
LABEL_WORDS: dict[str, str] = {
    "CERTIFICATE REQUEST": "a certificate signing request",
    "NEW CERTIFICATE REQUEST": "a certificate signing request",
    "CERTIFICATE": "a certificate",
    "TRUSTED CERTIFICATE": "a certificate",
    "X509 CRL": "a certificate revocation list",
    "PUBLIC KEY": "a public key",
    "RSA PUBLIC KEY": "a public key",
    "PKCS7": "a PKCS#7 bundle",
    "CMS": "a PKCS#7 bundle",
}

#: Labels of blocks that hold a private key: finding one means a secret was shared.
PRIVATE_KEY_LABELS = frozenset(
    {
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ANY PRIVATE KEY",
    }
)


@dataclass(frozen=True)
class Block:
    """One PEM block: its label (upper case) and its decoded DER bytes."""

    label: str
    der: bytes


def looks_like_pem(data: bytes) -> bool:
    """True if ``data`` contains a PEM ``BEGIN`` line."""
    return _BEGIN.search(data) is not None


def begin_labels(data: bytes) -> list[str]:
    """The labels of every ``BEGIN`` line in ``data``, even of blocks that are cut off."""
    return [_norm_label(m.group(1)) for m in _BEGIN.finditer(data)]


def blocks(data: bytes) -> list[Block]:
    """Every complete PEM block in ``data``, in order; bodies that are not base64 are skipped."""
    found = []
    for match in _BLOCK.finditer(data):
        der = decode_base64_body(match.group(2))
        if der is not None:
            found.append(Block(_norm_label(match.group(1)), der))
    return found


def decode_base64_body(body: bytes) -> bytes | None:
    """Decode a PEM body; tolerate CRLF, indentation and RFC 1421 header lines; None if broken."""
    lines = [line.strip() for line in body.replace(b"\r", b"\n").split(b"\n")]
    # Old-style encrypted PEM has "Proc-Type:"/"DEK-Info:" headers before the base64.
    text = b"".join(line for line in lines if line and b":" not in line)
    text = b"".join(text.split())
    if not text:
        return None
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def to_pem(label: str, der: bytes) -> bytes:
    """Encode ``der`` as a PEM block with 64-character lines."""
    body = base64.b64encode(der)
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    head = label.encode("ascii")
    return b"-----BEGIN " + head + b"-----\n" + lines + b"\n-----END " + head + b"-----\n"


def _norm_label(raw: bytes) -> str:
    return " ".join(raw.decode("ascii", "replace").upper().split())
