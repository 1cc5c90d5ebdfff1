"""Tell what an uploaded file is, so a wrong upload gets a message saying what was found."""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from bot.crypto import pem
from bot.errors import CSRError

_CSR_LABELS = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
_PRIVATE_KEY = (
    "This is a private key, not a CSR — never share your private key. Delete this upload, "
    "and because the key has been exposed, make a new key and CSR."
)
_HOW = "A CSR is a text file that starts with “-----BEGIN CERTIFICATE REQUEST-----”."


def csr_der(data: bytes) -> bytes:
    """Return the DER bytes of the one CSR in ``data`` (PEM, DER or bare base64), or CSRError."""
    if not data.strip():
        raise CSRError(f"The CSR is empty. {_HOW}")
    if pem.looks_like_pem(data):
        return _from_pem(data)
    der = _bare_base64(data) or data
    kind = _der_kind(der)
    if kind == "csr":
        return der
    if kind == "private key":
        raise CSRError(_PRIVATE_KEY)
    if kind == "certificate":
        raise CSRError(
            "This is a certificate, not a CSR. Upload the certificate signing request "
            "made together with the private key."
        )
    raise CSRError(f"This is not a CSR. {_HOW}")


def _from_pem(data: bytes) -> bytes:
    labels = pem.begin_labels(data)
    if any(label in pem.PRIVATE_KEY_LABELS for label in labels):
        if any(label in _CSR_LABELS for label in labels):
            raise CSRError(
                "This file holds a private key as well as the CSR — never share your "
                "private key. Delete this upload, make a new key and CSR (this key has been "
                "exposed), and upload only the CSR."
            )
        raise CSRError(_PRIVATE_KEY)
    requests = [b for b in pem.blocks(data) if b.label in _CSR_LABELS]
    if len(requests) == 1:
        return requests[0].der
    if len(requests) > 1:
        raise CSRError(f"This holds {len(requests)} CSRs: upload just the one for this order.")
    if any(label in _CSR_LABELS for label in labels):
        raise CSRError(
            "This CSR is cut off or damaged: copy the whole text, including the "
            "“-----BEGIN CERTIFICATE REQUEST-----” and “-----END CERTIFICATE REQUEST-----” lines."
        )
    found = [pem.LABEL_WORDS.get(label, f"a “{label}” block") for label in labels]
    first = found[0]
    if first == "a certificate":
        raise CSRError(
            "This is a certificate, not a CSR. Upload the certificate signing request "
            "made together with the private key."
        )
    raise CSRError(f"This is {first}, not a CSR. {_HOW}")


def _bare_base64(data: bytes) -> bytes | None:
    """Base64 pasted without BEGIN/END lines, decoded; None if ``data`` is not that."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _der_kind(der: bytes) -> str | None:
    """What DER bytes hold: "csr", "certificate", "private key" or None."""
    for kind, loader in (
        ("csr", x509.load_der_x509_csr),
        ("certificate", x509.load_der_x509_certificate),
    ):
        try:
            loader(der)
        except ValueError:
            continue
        return kind
    try:
        serialization.load_der_private_key(der, password=None)
    except TypeError:
        return "private key"  # a passphrase-protected one: still a secret
    except (ValueError, UnsupportedAlgorithm):
        return None
    return "private key"
