"""Start a real Pebble ACME server and pebble-challtestsrv on free local ports (tests, demo)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.devtools.ports import free_port

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"
#: The issuer domain certdesk's CAA pre-flight expects for Pebble (Pebble itself ignores CAA).
PEBBLE_CAA_IDENTITY = "pebble.invalid"
#: Pebble generates its CA keys at start-up; a cold start takes about a second.
START_TIMEOUT = 20.0


def pebble_available() -> bool:
    """Return whether both Pebble binaries are installed."""
    return os.access(PEBBLE, os.X_OK) and os.access(CHALLTESTSRV, os.X_OK)


class PebbleMissing(RuntimeError):
    """Pebble or challtestsrv is not installed."""


def require_pebble() -> None:
    """Raise PebbleMissing, saying how to install it, unless both binaries are installed."""
    if not pebble_available():
        raise PebbleMissing(
            f"{PEBBLE} or {CHALLTESTSRV} is missing: run .ci/install-pebble.sh "
            "(Debian package 'pebble') to use the ACME test server"
        )


def _write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """Create a throwaway CA and a localhost/127.0.0.1 server certificate for Pebble's HTTPS."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certdesk test Pebble TLS CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path = directory / "ca.pem", directory / "cert.pem"
    key_path = directory / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def _fqdn(name: str) -> str:
    """challtestsrv matches names exactly as DNS asks for them: absolute, with the dot."""
    return name if name.endswith(".") else name + "."


@dataclass
class Pebble:
    """A running Pebble plus challtestsrv; stop() (or leaving the ``with`` block) ends both."""

    directory_url: str
    ca_bundle: str
    dns_address: str
    management_url: str  # Pebble's own management API (roots, intermediates)
    challtestsrv_url: str  # challtestsrv's management API (TXT, HTTP-01, CAA mocks)
    http01_port: int
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> Pebble:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _mock(self, path: str, body: dict) -> None:
        request = urllib.request.Request(
            self.challtestsrv_url + path, data=json.dumps(body).encode(), method="POST"
        )
        with _no_proxy_opener().open(request, timeout=5) as response:
            response.read()

    def set_txt(self, name: str, value: str) -> None:
        """Publish a TXT record (replacing what challtestsrv returned for ``name``)."""
        self._mock("/set-txt", {"host": _fqdn(name), "value": value})

    def clear_txt(self, name: str) -> None:
        """Remove the TXT records of ``name``."""
        self._mock("/clear-txt", {"host": _fqdn(name)})

    def add_http01(self, token: str, content: str) -> None:
        """Serve ``content`` at /.well-known/acme-challenge/<token> on every host."""
        self._mock("/add-http01", {"token": token, "content": content})

    def add_caa(self, name: str, records: Sequence[tuple[str, str]]) -> None:
        """Publish CAA records ``(tag, value)`` for ``name``; challtestsrv always sets flag 0."""
        policies = [{"tag": tag, "value": value} for tag, value in records]
        self._mock("/add-caa", {"host": _fqdn(name), "policies": policies})

    def root_certificates(self) -> list[x509.Certificate]:
        """Return Pebble's issuing root and intermediate (regenerated at every start)."""
        context = ssl.create_default_context(cafile=self.ca_bundle)
        found = []
        for path in ("/roots/0", "/intermediates/0"):
            opener = _no_proxy_opener(context)
            with opener.open(self.management_url + path, timeout=5) as response:
                found.extend(x509.load_pem_x509_certificates(response.read()))
        return found

    def stop(self) -> None:
        """Terminate both servers and wait for them."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    def certdesk_env(self, *, challenge: str = "dns-01") -> dict[str, str]:
        """The settings that point certdesk at this Pebble, its CA bundle and its DNS server."""
        return {
            "CERTDESK_CA": "acme",
            "CERTDESK_ACME_DIRECTORY": self.directory_url,
            "CERTDESK_ACME_CA_BUNDLE": self.ca_bundle,
            "CERTDESK_ACME_CHALLENGE": challenge,
            "CERTDESK_ACME_CAA_IDENTITIES": PEBBLE_CAA_IDENTITY,
            "CERTDESK_DNS_RESOLVER": self.dns_address,
        }

    def logs(self) -> str:
        """Both servers' output so far, for a failing test's message."""
        parts = []
        for log in sorted(self.log_dir.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


def _no_proxy_opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """An opener that ignores *_proxy variables: these servers only ever live on 127.0.0.1."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _wait_until_up(pebble: Pebble) -> None:
    context = ssl.create_default_context(cafile=pebble.ca_bundle)
    deadline = time.monotonic() + START_TIMEOUT
    checks = [
        (pebble.directory_url, context),
        (pebble.challtestsrv_url + "/", None),
    ]
    for url, ctx in checks:
        while True:
            for process in pebble.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args!r} exited early:\n{pebble.logs()}")
            try:
                with _no_proxy_opener(ctx).open(url, timeout=2) as response:
                    response.read()
                break
            except urllib.error.HTTPError:
                break  # it answered: up (challtestsrv's "/" is a 404)
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not come up:\n{pebble.logs()}") from None
                time.sleep(0.05)


def start_pebble(tmp_path: Path, *, env: dict[str, str] | None = None) -> Pebble:
    """Start challtestsrv and Pebble (real dns-01/http-01 validation) under ``tmp_path``.

    Raises PebbleMissing when the binaries are not installed.
    """
    require_pebble()
    tmp_path.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = _write_tls_files(tmp_path)
    acme_port, mgmt_port, http01_port, cts_port = (free_port() for _ in range(4))
    dns_port = free_port(udp_too=True)
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{acme_port}",
            "managementListenAddress": f"127.0.0.1:{mgmt_port}",
            "certificate": str(cert_path),
            "privateKey": str(key_path),
            # The VA connects to <domain>:httpPort for http-01: challtestsrv answers there.
            "httpPort": http01_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    config_path = tmp_path / "pebble-config.json"
    config_path.write_text(json.dumps(config))
    server_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PEBBLE_VA_NOSLEEP": "1",
        "PEBBLE_AUTHZREUSE": "0",
        **(env or {}),
    }
    pebble = Pebble(
        directory_url=f"https://127.0.0.1:{acme_port}/dir",
        ca_bundle=str(ca_path),
        dns_address=f"127.0.0.1:{dns_port}",
        management_url=f"https://127.0.0.1:{mgmt_port}",
        challtestsrv_url=f"http://127.0.0.1:{cts_port}",
        http01_port=http01_port,
        log_dir=tmp_path,
    )
    commands = [
        (
            "challtestsrv",
            [
                CHALLTESTSRV,
                "-dns01", f"127.0.0.1:{dns_port}",
                "-http01", f"127.0.0.1:{http01_port}",
                "-https01", "",
                "-tlsalpn01", "",
                "-management", f"127.0.0.1:{cts_port}",
                # No AAAA answers: the VA would try ::1 first, where nothing listens.
                "-defaultIPv6", "",
            ],
        ),
        ("pebble", [PEBBLE, "-config", str(config_path), "-dnsserver", pebble.dns_address]),
    ]  # fmt: skip
    try:
        for name, argv in commands:
            with open(tmp_path / f"{name}.log", "wb") as log:
                pebble.processes.append(
                    subprocess.Popen(
                        argv,
                        cwd=tmp_path,
                        env=server_env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
        _wait_until_up(pebble)
    except BaseException:
        pebble.stop()
        raise
    return pebble


def _main() -> None:  # pragma: no cover - manual smoke test

    with tempfile.TemporaryDirectory() as tmp, start_pebble(Path(tmp)) as pebble:
        print(pebble)
        print(len(pebble.root_certificates()), "CA certificates")


if __name__ == "__main__":  # pragma: no cover
    _main()
