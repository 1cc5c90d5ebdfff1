"""The simulated CA's revocation records and the CRLs signed from them (RFC 5280 §5, BR §7.2)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from bot.ca.simulated.profile import signature_hash
from bot.errors import CAError

logger = logging.getLogger(__name__)

#: CRLReason codes the Baseline Requirements (§7.2.2) let a subscriber certificate's CRL entry
#: carry; 0 (unspecified) is accepted but leaves the entry without a reasonCode.
SUBSCRIBER_REASONS = frozenset({0, 1, 3, 4, 5, 9})


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate: its serial number, when, and the RFC 5280 reason code."""

    serial: int
    revoked_at: datetime
    reason: int


class RevocationLog:
    """Revoked serials as JSON lines in one file, appended with a single write.

    Appends of a few dozen bytes to a file opened with O_APPEND do not interleave, so
    several certdesk processes may revoke at once without a lock or a lost record.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, revocation: Revocation) -> None:
        """Record ``revocation``; raise CAError for a reason code a CA does not accept."""
        if revocation.reason not in SUBSCRIBER_REASONS:
            raise CAError(
                f"The CA does not accept revocation reason code {revocation.reason} for a "
                "server certificate; use keyCompromise (1), affiliationChanged (3), "
                "superseded (4), cessationOfOperation (5) or no reason (0)."
            )
        line = json.dumps(
            {
                "serial": format(revocation.serial, "x"),
                "revoked_at": revocation.revoked_at.astimezone(UTC).isoformat(),
                "reason": revocation.reason,
            }
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # The newline goes first: a record after a torn one (a crash mid-write) still
            # starts a line of its own.
            os.write(fd, ("\n" + line).encode("ascii"))
        finally:
            os.close(fd)

    def entries(self) -> list[Revocation]:
        """Every revoked serial once (its first record wins), oldest first."""
        try:
            text = self.path.read_text("ascii")
        except FileNotFoundError:
            return []
        found: dict[int, Revocation] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line:
                continue
            try:
                record = json.loads(line)
                entry = Revocation(
                    serial=int(record["serial"], 16),
                    revoked_at=datetime.fromisoformat(record["revoked_at"]),
                    reason=int(record["reason"]),
                )
            except (ValueError, KeyError, TypeError):
                # A torn line from a crash mid-write: keep publishing everything else.
                logger.warning("skipping unreadable line %d of %s", number, self.path)
                continue
            found.setdefault(entry.serial, entry)
        return sorted(found.values(), key=lambda r: r.revoked_at)

    def version(self) -> tuple[int, int]:
        """Changes whenever a record is added: (size, mtime in ns), (0, 0) before the first."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_size, stat.st_mtime_ns)


def build_crl(
    *,
    issuer: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    entries: list[Revocation],
    now: datetime,
    lifetime: timedelta,
) -> x509.CertificateRevocationList:
    """A complete CRL of ``issuer`` listing ``entries``, valid from ``now`` for ``lifetime``."""
    this_update = now.astimezone(UTC).replace(microsecond=0)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    # All entries at once: add_revoked_certificate copies the list each time (quadratic).
    builder = x509.CertificateRevocationListBuilder(
        revoked_certificates=[_entry(e) for e in entries]
    )
    builder = (
        builder.issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(this_update + lifetime)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        # Monotonic across processes and restarts without shared state: microseconds since
        # the epoch grow with every CRL this CA signs (BR §7.2.2 wants an increasing number).
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1_000_000)), critical=False)
    )
    return builder.sign(key, signature_hash(key))


def _entry(entry: Revocation) -> x509.RevokedCertificate:
    revoked = (
        x509.RevokedCertificateBuilder()
        .serial_number(entry.serial)
        .revocation_date(entry.revoked_at.astimezone(UTC).replace(microsecond=0))
    )
    if entry.reason:  # BR §7.2.2: "unspecified" is expressed by leaving reasonCode out
        revoked = revoked.add_extension(
            x509.CRLReason(x509.ReasonFlags(_REASON_FLAGS[entry.reason])), critical=False
        )
    return revoked.build()


_REASON_FLAGS = {
    1: "keyCompromise",
    3: "affiliationChanged",
    4: "superseded",
    5: "cessationOfOperation",
    9: "privilegeWithdrawn",
}
