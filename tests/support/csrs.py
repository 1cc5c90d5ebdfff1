"""Make real CSRs, keys and certificates for the crypto tests, with cryptography and openssl."""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from bot.crypto import der

DATA = Path(__file__).resolve().parents[1] / "data"

_SIGNATURE_OIDS = {"sha1": "1.2.840.113549.1.1.5", "md5": "1.2.840.113549.1.1.4"}


def data_file(name: str) -> bytes:
    """A fixed file from tests/data/."""
    return (DATA / name).read_bytes()


# --- openssl command line ------------------------------------------------------------------


def openssl(*args: str, cwd: Path, stdin: bytes | None = None, with_stderr: bool = False) -> bytes:
    """Run ``openssl`` in ``cwd``; return stdout (and stderr); fail the test if openssl fails."""
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, input=stdin, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    # Some commands (pkcs12 -info) report on stderr.
    return done.stdout + done.stderr if with_stderr else done.stdout


def openssl_key(tmp: Path, kind: str) -> Path:
    """Generate a key file with openssl: "rsa:N", "ed25519" or an EC curve name."""
    out = tmp / f"{kind.replace(':', '')}.key"
    if kind.startswith("rsa:"):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{kind[4:]}",
                "-out", str(out), cwd=tmp)  # fmt: skip
    elif kind == "ed25519":
        openssl("genpkey", "-algorithm", "ed25519", "-out", str(out), cwd=tmp)
    else:
        openssl("ecparam", "-name", kind, "-genkey", "-noout", "-out", str(out), cwd=tmp)
    return out


def openssl_csr(
    tmp: Path,
    *,
    newkey: str | None = None,
    key: Path | None = None,
    subj: str = "/CN=example.com",
    san: Sequence[str] = (),
    digest: str = "sha256",
    outform: str = "PEM",
) -> bytes:
    """`openssl req -new` with ``-newkey``, an existing ``key`` or a shared RSA 2048 key."""
    args = ["req", "-new", "-subj", subj, "-outform", outform]
    if key is None and newkey is None:
        # openssl's RSA key generation costs up to 0.5 s: share one key between tests.
        key = tmp / "shared-rsa2048.key"
        key.write_bytes(_shared_rsa_pem())
    if key is not None:
        args += ["-key", str(key)]
    else:
        args += ["-newkey", str(newkey), "-nodes", "-keyout", str(tmp / "req.key")]
    if digest:
        args.append(f"-{digest}")
    if san:
        args += ["-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in san)]
    return openssl(*args, cwd=tmp)


@functools.cache
def _shared_rsa_pem() -> bytes:
    return key_pem(_shared_rsa_key(2048))


# --- cryptography library ------------------------------------------------------------------


def rsa_key(bits: int = 2048, *, fresh: bool = False) -> rsa.RSAPrivateKey:
    """An RSA key: shared between tests (generation is slow) unless ``fresh``."""
    if fresh:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _shared_rsa_key(bits)


@functools.cache
def _shared_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def crypto_csr(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    names: Sequence[str],
    *,
    common_name: str | None = None,
    country: str | None = None,
    digest: str = "sha256",
) -> bytes:
    """A PEM CSR signed by cryptography; "sha1"/"md5" are signed by hand (cryptography refuses)."""
    attributes = []
    if country is not None:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if common_name or names:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name or names[0]))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return builder.sign(key, None).public_bytes(serialization.Encoding.PEM)
    if digest in _SIGNATURE_OIDS:
        assert isinstance(key, rsa.RSAPrivateKey)
        return _resign(builder.sign(key, hashes.SHA256()), key, digest)
    algorithm = hashes.SHA224() if digest == "sha224" else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


def _resign(csr: x509.CertificateSigningRequest, key: rsa.RSAPrivateKey, digest: str) -> bytes:
    """Re-sign the CSR's body with a legacy hash, assembling the DER (RFC 2986) by hand."""
    algorithm = hashes.SHA1() if digest == "sha1" else hashes.MD5()
    signature = key.sign(csr.tbs_certrequest_bytes, padding.PKCS1v15(), algorithm)
    whole = der.sequence(
        csr.tbs_certrequest_bytes,
        der.sequence(der.oid(_SIGNATURE_OIDS[digest]), der.null()),
        der.tlv(0x03, b"\x00" + signature),
    )
    return x509.load_der_x509_csr(whole).public_bytes(serialization.Encoding.PEM)


def corrupt_signature(csr_pem: bytes) -> bytes:
    """The same CSR with one bit of its signature flipped (the last byte of the DER)."""
    raw = bytearray(x509.load_pem_x509_csr(csr_pem).public_bytes(serialization.Encoding.DER))
    raw[-1] ^= 0x01
    return x509.load_der_x509_csr(bytes(raw)).public_bytes(serialization.Encoding.PEM)


def issue(key_pem_bytes: bytes, names: Sequence[str], *, days: int = 90) -> tuple[bytes, bytes]:
    """A leaf certificate for the key, from a throwaway CA: return (chain PEM, CA PEM)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certdesk test CA")])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    subject_key = serialization.load_pem_private_key(key_pem_bytes, None)
    assert isinstance(subject_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return leaf.public_bytes(pem) + ca.public_bytes(pem), ca.public_bytes(pem)
