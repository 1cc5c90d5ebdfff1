"""Check an ACS3-HMAC-SHA256 signed request the way Alibaba Cloud's API gateway does.

Written from the V3 request-signature specification: canonical request =
method, path, canonical query, canonical headers, signed header names and the
payload hash, one per line; string to sign = algorithm and the canonical
request's SHA-256; signature = hex HMAC-SHA256 with the AccessKey secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
#: The gateway refuses requests dated further than this from its clock; nonces are kept as long.
CLOCK_SKEW = timedelta(minutes=15)
#: Headers the specification requires in SignedHeaders.
REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<ak>[^,]+),"
    r"SignedHeaders=(?P<signed>[^,]+),Signature=(?P<sig>[0-9a-f]{64})$"
)


class SignatureProblem(Exception):
    """The request is not signed as required: the ``code``, ``message`` and ``status`` to answer."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Signed:
    """What a valid signature vouches for."""

    access_key_id: str
    nonce: str


def encode(text: str) -> str:
    """RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return quote(text, safe="-_.~")


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """Encoded name=value pairs sorted by encoded name, joined with &."""
    encoded = sorted((encode(k), encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The canonical request the signature covers; ``headers`` keyed by lower-case name."""
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join(
        [method, path or "/", canonical_query(query), lines, ";".join(signed_headers), payload_hash]
    )


def sign(secret: str, canonical: str) -> str:
    """The hex signature of a canonical request."""
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    now: datetime | None = None,
) -> Signed:
    """Return who signed the request; raise SignatureProblem as the gateway would answer.

    ``headers`` must be keyed by lower-case name.
    """
    found = _AUTHORIZATION.match(headers.get("authorization", ""))
    if found is None:
        raise SignatureProblem(
            "IncompleteSignature", "The request signature does not conform to Aliyun standards."
        )
    access_key_id, signature = found["ak"], found["sig"]
    signed = found["signed"].split(";")
    if signed != sorted(signed) or any(n != n.lower() for n in signed):
        raise SignatureProblem(
            "IncompleteSignature", "SignedHeaders must be lower-case and sorted."
        )
    missing = [n for n in REQUIRED_SIGNED if n not in signed or n not in headers]
    if missing:
        raise SignatureProblem(
            "IncompleteSignature", f"Required headers are not signed: {', '.join(missing)}."
        )
    if access_key_id not in secrets:
        raise SignatureProblem(
            "InvalidAccessKeyId.NotFound", "Specified access key is not found.", status=404
        )
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers["x-acs-content-sha256"] != payload_hash:
        raise SignatureProblem("ContentSHA256NotMatched", "The content SHA-256 does not match.")
    _check_date(headers["x-acs-date"], now or datetime.now(UTC))
    expected = sign(
        secrets[access_key_id],
        canonical_request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            signed_headers=signed,
            payload_hash=payload_hash,
        ),
    )
    if not hmac.compare_digest(expected, signature):
        raise SignatureProblem(
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation.",
        )
    return Signed(access_key_id=access_key_id, nonce=headers["x-acs-signature-nonce"])


def _check_date(raw: str, now: datetime) -> None:
    try:
        when = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureProblem(
            "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
        ) from None
    if abs(now - when) > CLOCK_SKEW:
        raise SignatureProblem(
            "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )
