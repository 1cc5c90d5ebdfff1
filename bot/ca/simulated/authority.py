"""The simulated CA's own hierarchy (root and issuing CA): signing, revocation and its CRLs.

What relying parties need is served by certdesk under ``{public_url}/sim-ca/pki/`` (see
``profile.Locations``): both CA certificates, and a CRL from each CA. The issuing CA's URLs
are written into it when the hierarchy is created; a later CERTDESK_PUBLIC_URL only changes
the URLs in new subscriber certificates.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from bot.ca.base import Organization
from bot.ca.simulated.profile import Locations, ca_certificate, subscriber_certificate
from bot.ca.simulated.revocation import Revocation, RevocationLog, build_crl
from bot.errors import CAError

logger = logging.getLogger(__name__)

_ROOT_NAME = "certdesk Simulated Root CA"
_ISSUING_NAME = "certdesk Simulated Issuing CA 1"
_ROOT_LIFETIME = timedelta(days=20 * 365)
_ISSUING_LIFETIME = timedelta(days=10 * 365)
_FILES = ("root.key", "root.pem", "issuing.key", "issuing.pem")
#: A CRL's validity: BR §7.2.1 allows at most 10 days for one covering subscriber certificates.
CRL_LIFETIME = timedelta(days=7)
#: How long a signed CRL is served before a fresh one is signed (sooner after a revocation).
CRL_REFRESH = timedelta(hours=1)
ISSUERS = ("root", "issuing")


class Authority:
    """A local root and issuing CA kept under ``directory`` (created on first use)."""

    def __init__(self, directory: Path, *, now: datetime, public_url: str) -> None:
        self.directory = directory
        self.locations = Locations.under(public_url)
        if not (directory / "issuing.pem").exists():
            _create(directory, now=now, locations=self.locations)
        try:
            self.root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
            self.issuing = x509.load_pem_x509_certificate((directory / "issuing.pem").read_bytes())
            self._issuing_key = _load_key(directory / "issuing.key")
        except (OSError, ValueError) as exc:
            raise CAError(
                f"The simulated CA's own keys in {directory} cannot be read ({exc}). "
                "Restore them, or move the directory away to start a new CA."
            ) from None
        if not _has(self.issuing, x509.CRLDistributionPoints):
            logger.warning(
                "the simulated CA in %s predates certdesk's CA/Browser Forum profile: new "
                "certificates carry CRL and issuer URLs, but its issuing CA does not; move the "
                "directory away to start a new simulated CA",
                directory,
            )
        self.revocations = RevocationLog(directory / "revoked.jsonl")
        self._crls: dict[str, tuple[tuple[int, int], datetime, bytes]] = {}
        self._crl_lock = threading.Lock()

    def chain_pem(self) -> bytes:
        """The issuing CA then the root, PEM: what follows a leaf in a full chain."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain())

    def chain(self) -> list[x509.Certificate]:
        """The issuing CA and the root certificates."""
        return [self.issuing, self.root]

    def issue(
        self,
        public_key: CertificatePublicKeyTypes,
        *,
        names: Sequence[str],
        product: str,
        organization: Organization | None,
        not_before: datetime,
        not_after: datetime,
    ) -> x509.Certificate:
        """Sign a TLS server certificate for ``public_key`` with exactly ``names`` in its SAN."""
        if not_after > self.issuing.not_valid_after_utc:
            raise CAError(
                "The simulated CA's issuing certificate expires before the requested validity "
                "ends; start a new simulated CA by moving its directory away."
            )
        return subscriber_certificate(
            public_key,
            names=names,
            product=product,
            organization=organization,
            issuer=self.issuing,
            issuer_key=self._issuing_key,
            locations=self.locations,
            not_before=not_before,
            not_after=not_after,
        )

    def revoke(self, serial: int, *, at: datetime, reason: int) -> None:
        """Record the certificate ``serial`` as revoked; the next CRL lists it.

        Raises CAError for a reason code the Baseline Requirements do not allow.
        """
        self.revocations.add(Revocation(serial=serial, revoked_at=at, reason=reason))

    def certificate_der(self, which: str) -> bytes:
        """The ``root`` or ``issuing`` CA certificate, DER (what AIA caIssuers points at)."""
        _check_which(which)
        cert = self.root if which == "root" else self.issuing
        return cert.public_bytes(serialization.Encoding.DER)

    def crl_der(self, which: str, *, now: datetime) -> bytes:
        """The current CRL signed by the ``root`` or ``issuing`` CA, DER.

        A signed CRL is reused for ``CRL_REFRESH`` unless a revocation was recorded since.
        The root has revoked nothing: its CRL (an ARL) is empty.
        """
        _check_which(which)
        version = self.revocations.version() if which == "issuing" else (0, 0)
        with self._crl_lock:
            cached = self._crls.get(which)
            if cached and cached[0] == version and cached[1] <= now < cached[1] + CRL_REFRESH:
                return cached[2]
            if which == "issuing":
                issuer, key, entries = self.issuing, self._issuing_key, self.revocations.entries()
            else:
                issuer, key, entries = self.root, _load_key(self.directory / "root.key"), []
            crl = build_crl(issuer=issuer, key=key, entries=entries, now=now, lifetime=CRL_LIFETIME)
            der = crl.public_bytes(serialization.Encoding.DER)
            self._crls[which] = (version, now, der)
            return der


def _has(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> bool:
    try:
        cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return False
    return True


def _check_which(which: str) -> None:
    if which not in ISSUERS:
        raise ValueError(f"the simulated CA has no {which!r} CA")


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name} is not an EC private key")
    return key


def _create(directory: Path, *, now: datetime, locations: Locations) -> None:
    """Make a new root and issuing CA, appearing all at once so a racing process loads one."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulated-ca-", dir=directory.parent))
    try:
        root_key = ec.generate_private_key(ec.SECP384R1())
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        # Backdated a day so certificates issued "now" by a clock a little behind still chain.
        start = now - timedelta(days=1)
        root = ca_certificate(
            common_name=_ROOT_NAME,
            key=root_key,
            issuer=None,
            issuer_key=root_key,
            locations=locations,
            not_before=start,
            lifetime=_ROOT_LIFETIME,
        )
        issuing = ca_certificate(
            common_name=_ISSUING_NAME,
            key=issuing_key,
            issuer=root,
            issuer_key=root_key,
            locations=locations,
            not_before=start,
            lifetime=_ISSUING_LIFETIME,
        )
        for filename, data in zip(
            _FILES,
            (_key_pem(root_key), _cert_pem(root), _key_pem(issuing_key), _cert_pem(issuing)),
            strict=True,
        ):
            mode = 0o600 if filename.endswith(".key") else 0o644
            fd = os.open(staging / filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        try:
            staging.rename(directory)  # fails if another process got there first: use theirs
        except OSError:
            if not (directory / "issuing.pem").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
