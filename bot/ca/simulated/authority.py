"""The simulated CA's own hierarchy (root and issuing intermediate) and certificate signing."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.ca.base import Organization
from bot.errors import CAError
from bot.products import needs_organization

_ROOT_NAME = "certdesk Simulated Root CA"
_ISSUING_NAME = "certdesk Simulated Issuing CA 1"
_ROOT_LIFETIME = timedelta(days=20 * 365)
_ISSUING_LIFETIME = timedelta(days=10 * 365)
# CA/Browser Forum reserved policy identifiers, so the profile looks like a public CA's.
_POLICY = {
    "dv": "2.23.140.1.2.1",
    "ov": "2.23.140.1.2.2",
    "ev": "2.23.140.1.1",
}
_FILES = ("root.key", "root.pem", "issuing.key", "issuing.pem")


class Authority:
    """A local root and issuing CA kept under ``directory`` (created on first use)."""

    def __init__(self, directory: Path, *, now: datetime) -> None:
        self.directory = directory
        if not (directory / "issuing.pem").exists():
            _create(directory, now=now)
        try:
            self.root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
            self.issuing = x509.load_pem_x509_certificate((directory / "issuing.pem").read_bytes())
            key = serialization.load_pem_private_key(
                (directory / "issuing.key").read_bytes(), password=None
            )
        except (OSError, ValueError) as exc:
            raise CAError(
                f"The simulated CA's own keys in {directory} cannot be read ({exc}). "
                "Restore them, or move the directory away to start a new CA."
            ) from None
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._issuing_key = key

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
        usage_rsa = isinstance(public_key, rsa.RSAPublicKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(names, product=product, organization=organization))
            .issuer_name(self.issuing.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_encipherment=usage_rsa,  # RSA key exchange needs it; ECDSA must not
                    content_commitment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(_aki(self.issuing), critical=False)
            .add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(_POLICY[product]), None)]
                ),
                critical=False,
            )
        )
        return builder.sign(self._issuing_key, hashes.SHA256())


def _subject(names: Sequence[str], *, product: str, organization: Organization | None) -> x509.Name:
    attributes = []
    if needs_organization(product) and organization is not None:
        pairs = (
            (NameOID.COUNTRY_NAME, organization.country),
            (NameOID.STATE_OR_PROVINCE_NAME, organization.state),
            (NameOID.LOCALITY_NAME, organization.city),
            (NameOID.ORGANIZATION_NAME, organization.legal_name),
        )
        # Empty attributes are invalid in a Name; some countries have no state/province.
        attributes += [x509.NameAttribute(oid, value) for oid, value in pairs if value]
    # The CN is limited to 64 characters; a longer first name lives in the SAN alone.
    if len(names[0]) <= 64:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, names[0]))
    return x509.Name(attributes)


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_certificate(
    *,
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    lifetime: timedelta,
    path_length: int | None,
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ZZ"),  # user-assigned: no real country
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certdesk (simulated, not trusted)"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
        ]
    )
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(_aki(issuer), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA384() if issuer is None else hashes.SHA256())


def _create(directory: Path, *, now: datetime) -> None:
    """Make a new root and issuing CA, appearing all at once so a racing process loads one."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulated-ca-", dir=directory.parent))
    try:
        root_key = ec.generate_private_key(ec.SECP384R1())
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        # Backdated a day so certificates issued "now" by a clock a little behind still chain.
        start = now - timedelta(days=1)
        root = _ca_certificate(
            subject=_ROOT_NAME,
            key=root_key,
            issuer=None,
            issuer_key=root_key,
            not_before=start,
            lifetime=_ROOT_LIFETIME,
            path_length=None,
        )
        issuing = _ca_certificate(
            subject=_ISSUING_NAME,
            key=issuing_key,
            issuer=root,
            issuer_key=root_key,
            not_before=start,
            lifetime=_ISSUING_LIFETIME,
            path_length=0,
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
