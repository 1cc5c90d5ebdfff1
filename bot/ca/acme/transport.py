"""ACME transport: account key, signed requests, lazy account registration and error mapping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import josepy as jose
import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.ca.acme.problems import describe_problem
from bot.errors import CAError

#: Seconds one HTTP request to the CA may take; the scheduler retries later anyway.
REQUEST_TIMEOUT = 15
#: Problem types worth retrying unchanged later (RFC 8555 §6.7; 429 and 5xx).
RETRYABLE_PROBLEMS = frozenset({"serverInternal", "rateLimited", "badNonce"})
#: RFC 8555 §6.5 asks clients to retry badNonce; Pebble rejects 5% of good nonces.
NONCE_ATTEMPTS = 4


def generate_account_key() -> bytes:
    """Return a new ACME account key (EC P-256) as unencrypted PKCS#8 PEM for the caller to seal."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_account_key(pem: bytes) -> tuple[jose.JWK, jose.JWASignature]:
    """Return the JWK and JWS algorithm for an account key PEM; raise CAError if unusable."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CAError(f"The ACME account key cannot be read ({exc}).") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": jose.ES256, "secp384r1": jose.ES384, "secp521r1": jose.ES512}
        if key.curve.name not in algs:
            raise CAError(f"ACME account keys on curve {key.curve.name} are not supported.")
        return jose.JWKEC(key=key), algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return jose.JWKRSA(key=key), jose.RS256
    raise CAError("The ACME account key must be an EC or RSA private key.")


class _Network(acme_client.ClientNetwork):
    """ClientNetwork that retries badNonce a few times instead of once."""

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        for _ in range(NONCE_ATTEMPTS - 1):
            try:
                return self._post_once(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce":
                    raise
        return self._post_once(*args, **kwargs)


class Transport:
    """One ACME account at one CA: signs requests and turns failures into CAError."""

    def __init__(
        self,
        *,
        directory_url: str,
        account_key_pem: bytes,
        contact_email: str | None,
        ca_bundle: str | None,
    ) -> None:
        self.directory_url = directory_url
        self.key, self._alg = load_account_key(account_key_pem)
        self._contact_email = contact_email
        self._verify: bool | str = ca_bundle or True
        self._net: _Network | None = None
        self._directory: messages.Directory | None = None
        self._client: acme_client.ClientV2 | None = None
        # ClientNetwork keeps a shared nonce pool: one request at a time per account.
        self.lock = threading.RLock()

    @property
    def host(self) -> str:
        """The CA's host name, for messages."""
        return urlsplit(self.directory_url).netloc or self.directory_url

    @contextmanager
    def translate(self, doing: str) -> Iterator[None]:
        """Turn network errors and ACME problem documents raised inside into CAError."""
        try:
            yield
        except CAError:
            raise
        except messages.Error as problem:
            retryable = (problem.code or "") in RETRYABLE_PROBLEMS
            raise CAError(
                f"The ACME CA refused to {doing}: {describe_problem(problem)}",
                retryable=retryable,
            ) from problem
        except requests.exceptions.SSLError as exc:
            raise CAError(
                f"Could not {doing}: the TLS certificate of {self.host} was not accepted "
                f"({exc.__class__.__name__}). Check the CA address and its CA bundle.",
                retryable=True,
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise CAError(
                f"Could not reach the ACME CA at {self.host} to {doing} "
                f"({exc.__class__.__name__}); certdesk will try again later.",
                retryable=True,
            ) from exc
        except acme_errors.ClientError as exc:
            response = exc.args[0] if exc.args else None
            if isinstance(response, tuple):
                response = response[0]
            status = getattr(response, "status_code", 0)
            raise CAError(
                f"The ACME CA at {self.host} gave an unexpected answer while trying to {doing}"
                + (f" (HTTP {status})" if status else "")
                + ".",
                retryable=status >= 500 or status == 429,
            ) from exc
        except (acme_errors.Error, jose.DeserializationError, ValueError, KeyError) as exc:
            raise CAError(
                f"The ACME CA at {self.host} gave an answer certdesk cannot use while trying "
                f"to {doing} ({exc.__class__.__name__}: {exc})."
            ) from exc

    def _network(self) -> _Network:
        if self._net is None:
            self._net = _Network(
                key=self.key,
                alg=self._alg,
                verify_ssl=self._verify,  # type: ignore[arg-type]  # requests takes a CA path
                user_agent="certdesk",
                timeout=REQUEST_TIMEOUT,
            )
        return self._net

    def directory(self) -> messages.Directory:
        """The CA's directory (RFC 8555 §7.1.1), fetched once; raises CAError if unreachable."""
        if self._directory is None:
            with self.translate("read the ACME directory"):
                self._directory = acme_client.ClientV2.get_directory(
                    self.directory_url, self._network()
                )
        return self._directory

    def client(self) -> acme_client.ClientV2:
        """Return the ACME client, registering (or finding) the account on first use."""
        if self._client is not None:
            return self._client
        directory = self.directory()
        with self.translate("register the ACME account"):
            net = self._network()
            client = acme_client.ClientV2(directory, net)
            registration = messages.NewRegistration.from_data(
                email=self._contact_email, terms_of_service_agreed=True
            )
            try:
                client.new_account(registration)
            except acme_errors.ConflictError as conflict:
                # The key already has an account: RFC 8555 §7.3.1 answers with its URL.
                net.account = messages.RegistrationResource(
                    body=messages.Registration(), uri=conflict.location
                )
        self._client = client
        return client

    def fetch_directory(self, *, timeout: float) -> None:
        """GET the directory (unsigned, no account needed); CAError unless it answers with one.

        For readiness probes: cheap for the CA, and it exercises DNS, TLS and the CA bundle.
        """
        with self.translate("fetch the ACME directory"):
            answer = requests.get(
                self.directory_url,
                verify=self._verify,
                timeout=timeout,
                headers={"User-Agent": "certdesk"},
            )
            answer.raise_for_status()
            if "newNonce" not in answer.json():
                raise CAError(f"{self.host} answered, but not with an ACME directory.")

    def post_as_get(self, url: str) -> requests.Response:
        """Fetch a resource with POST-as-GET (RFC 8555 §6.3)."""
        client = self.client()
        return client.net.post(url, None, new_nonce_url=client.directory["newNonce"])

    def order(self, url: str) -> messages.Order:
        """Fetch an order."""
        return messages.Order.from_json(self.post_as_get(url).json())

    def authorization(self, url: str) -> messages.AuthorizationResource:
        """Fetch an authorization."""
        body = messages.Authorization.from_json(self.post_as_get(url).json())
        return messages.AuthorizationResource(body=body, uri=url)
