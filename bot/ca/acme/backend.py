"""The ``acme`` backend: RFC 8555 orders, dns-01/http-01 validation, finalization, revocation."""

from __future__ import annotations

import time
from collections.abc import Sequence

from acme import messages
from cryptography import x509
from cryptography.x509.oid import NameOID

from bot.ca.acme.caa import published_identities
from bot.ca.acme.problems import describe_problem, order_failure
from bot.ca.acme.transport import Transport
from bot.ca.base import (
    CABackend,
    CAState,
    CAStatus,
    StateStore,
    Submission,
    Validation,
    certificate_to_revoke,
)
from bot.dnscheck import Resolver, check_txt_visible
from bot.errors import CAError, ConfigError, PreflightError

CHALLENGES = ("dns-01", "http-01")
#: Seconds a readiness check may wait for the directory.
CHECK_TIMEOUT = 3.0
# RFC 8555 §7.1.6 lets authorizations become "expired"; acme 5.9 has no such Status and would
# refuse to parse one. Creating the constant registers it (idempotent).
STATUS_EXPIRED = messages.Status.POSSIBLE_NAMES.get("expired") or messages.Status("expired")


class AcmeBackend(CABackend):
    """An RFC 8555 CA (Let's Encrypt, ZeroSSL, Pebble...) reached with one account key."""

    name = "acme"
    emails_applicant = False

    def __init__(
        self,
        *,
        directory_url: str,
        account_key_pem: bytes,
        contact_email: str | None,
        challenge: str,
        store: StateStore,
        ca_bundle: str | None = None,
        caa_identities: Sequence[str] = (),
        caa_fallback: Sequence[str] = (),
        resolver: Resolver | None = None,
        finalize_wait: float = 2.0,
    ) -> None:
        if challenge not in CHALLENGES:
            raise ConfigError(f"The ACME challenge must be dns-01 or http-01, not “{challenge}”.")
        self.challenge = challenge
        # Issuer domains for CAA: configured ones win, then the directory's, then the fallback.
        self._caa_configured = tuple(caa_identities)
        self._caa_fallback = tuple(caa_fallback)
        self._store = store
        self._resolver = resolver
        # status() runs inside the scheduler: it may wait this long for issuance, no more.
        self._finalize_wait = finalize_wait
        self._t = Transport(
            directory_url=directory_url,
            account_key_pem=account_key_pem,
            contact_email=contact_email,
            ca_bundle=ca_bundle,
        )

    @property  # CABackend's plain attribute, computed here
    def caa_identities(self) -> tuple[str, ...]:  # type: ignore[override]
        """The issuer domains this CA uses in CAA records; () when none is known.

        Configured ones (CERTDESK_ACME_CAA_IDENTITIES) first, else the directory's
        ``meta.caaIdentities`` (RFC 8555 §7.1.1; read once), else the table of well-known
        CAs. Raises CAError (retryable) when the directory cannot be read and neither of
        the others names one.
        """
        if self._caa_configured:
            return self._caa_configured
        try:
            with self._t.lock:
                published = published_identities(self._t.directory())
        except CAError:
            if self._caa_fallback:
                return self._caa_fallback
            raise
        return published or self._caa_fallback

    def _load(self, ref: str) -> dict:
        stored = self._store.load(ref)
        if stored is None:
            raise CAError(f"certdesk has no record of the ACME order {ref}; submit it again.")
        return stored

    def check(self) -> None:
        """Raise CAError unless the ACME directory answers within a few seconds."""
        self._t.fetch_directory(timeout=CHECK_TIMEOUT)

    def submit(self, submission: Submission) -> str:
        """Create an ACME order for the submission's domains; return the order URL.

        Raises CAError (retryable for network trouble) and CAError for CSR/domain mismatch.
        """
        _check_csr_names(submission)
        with self._t.lock, self._t.translate("create the order"):
            order = self._t.client().new_order(submission.csr_pem)
        if not order.uri:
            raise CAError("The ACME CA created the order but did not say where it is.")
        self._store.save(
            order.uri,
            {
                "csr_pem": submission.csr_pem.decode("ascii"),
                "domains": list(submission.domains),
                "order_ref": submission.order_ref,
            },
        )
        return order.uri

    def status(self, ca_ref: str) -> CAStatus:
        """Map the order to a CAStatus, finalizing it (briefly waiting) once it is ready.

        Raises CAError (retryable for network trouble and CA outages).
        """
        stored = self._load(ca_ref)
        with self._t.lock, self._t.translate("check the order"):
            order = self._t.order(ca_ref)
            if order.status == messages.STATUS_VALID:
                return CAStatus(CAState.ISSUED)
            if order.status == messages.STATUS_PROCESSING:
                return self._wait_for_issuance(ca_ref)
            if order.status == messages.STATUS_READY:
                return self._finalize(ca_ref, order, stored)
            authzs = [self._t.authorization(url) for url in order.authorizations]
        if order.status == messages.STATUS_INVALID or any(
            a.body.status != messages.STATUS_PENDING and a.body.status != messages.STATUS_VALID
            for a in authzs
        ):
            return order_failure(order, authzs)
        validations = tuple(self._validation(a) for a in authzs)
        return CAStatus(CAState.AWAITING_VERIFICATION, validations=validations)

    def _finalize(self, ref: str, order: messages.Order, stored: dict) -> CAStatus:
        orderr = messages.OrderResource(
            body=order, uri=ref, csr_pem=stored["csr_pem"].encode("ascii")
        )
        try:
            self._t.client().begin_finalization(orderr)
        except messages.Error as problem:
            if problem.code == "orderNotReady":
                return CAStatus(CAState.REVIEWING)
            if problem.code in ("badCSR", "badPublicKey", "badSignatureAlgorithm", "caa"):
                return CAStatus(
                    CAState.FAILED,
                    reason=f"The CA would not issue the certificate: {describe_problem(problem)} "
                    "Revise the application and submit again.",
                )
            raise
        return self._wait_for_issuance(ref)

    def _wait_for_issuance(self, ref: str) -> CAStatus:
        """Poll a processing order for at most ``finalize_wait`` seconds."""
        deadline = time.monotonic() + self._finalize_wait
        while True:
            order = self._t.order(ref)
            if order.status == messages.STATUS_VALID:
                return CAStatus(CAState.ISSUED)
            if order.status == messages.STATUS_INVALID:
                return order_failure(order, [])
            if time.monotonic() + 0.2 > deadline:
                return CAStatus(CAState.REVIEWING)
            time.sleep(0.2)

    def _pick(self, authzr: messages.AuthorizationResource) -> messages.ChallengeBody | None:
        """The configured challenge, or dns-01 where it is the only kind (wildcards)."""
        offered = {c.chall.typ: c for c in authzr.body.challenges}
        return offered.get(self.challenge) or offered.get("dns-01")

    def _validation(self, authzr: messages.AuthorizationResource) -> Validation:
        """What the person must publish for one authorization, exactly."""
        body = authzr.body
        domain = body.identifier.value
        shown = f"*.{domain}" if body.wildcard else domain
        done = body.status == messages.STATUS_VALID
        challb = self._pick(authzr)
        if challb is None:
            raise CAError(f"The ACME CA offers no dns-01 or http-01 challenge for {shown}.")
        chall = challb.chall
        if chall.typ == "dns-01":
            return Validation(
                domain=shown,
                method="dns-01",
                record_name=chall.validation_domain_name(domain),
                record_type="TXT",
                record_value=chall.validation(self._t.key),
                done=done,
            )
        return Validation(
            domain=shown,
            method="http-01",
            url=chall.uri(domain),
            content=chall.validation(self._t.key),
            done=done,
        )

    def request_validation(self, ca_ref: str) -> None:
        """Answer the pending challenges; for dns-01 first check the TXT records are visible.

        Raises PreflightError naming every TXT record not yet visible, and CAError.
        """
        self._load(ca_ref)
        with self._t.lock, self._t.translate("check the order"):
            order = self._t.order(ca_ref)
            if order.status != messages.STATUS_PENDING:
                return  # nothing left to answer; status() reports where it stands
            authzs = [self._t.authorization(url) for url in order.authorizations]
        todo = []
        for authzr in authzs:
            challb = self._pick(authzr)
            pending = authzr.body.status == messages.STATUS_PENDING
            if pending and challb is not None and challb.status == messages.STATUS_PENDING:
                todo.append((authzr, challb))
        if self._resolver is not None:
            missing = []
            for authzr, challb in todo:
                if challb.chall.typ != "dns-01":
                    continue
                wanted = self._validation(authzr)
                assert wanted.record_name is not None and wanted.record_value is not None
                try:
                    check_txt_visible(self._resolver, wanted.record_name, wanted.record_value)
                except PreflightError as exc:
                    missing.append(str(exc))
            if missing:
                raise PreflightError("\n".join(missing))
        with self._t.lock, self._t.translate("ask the CA to validate the domains"):
            client = self._t.client()
            for _authzr, challb in todo:
                client.answer_challenge(challb, challb.chall.response(self._t.key))

    def resend_verification(self, ca_ref: str) -> None:
        """ACME sends no verification email: always raises CAError saying what to do instead."""
        raise CAError(
            "ACME CAs send no verification email. Publish the DNS record or file shown, "
            "then press “I've verified — check now”."
        )

    def cancel(self, ca_ref: str) -> None:
        """Deactivate the order's authorizations (ACME has no order cancel); raises CAError."""
        self._load(ca_ref)
        with self._t.lock, self._t.translate("withdraw the order"):
            order = self._t.order(ca_ref)
            if order.status == messages.STATUS_VALID:
                raise CAError("The certificate is already issued: revoke it instead.")
            client = self._t.client()
            for url in order.authorizations:
                authzr = self._t.authorization(url)
                # Valid ones too: otherwise the order could still be finalized.
                if authzr.body.status in (messages.STATUS_PENDING, messages.STATUS_VALID):
                    client.deactivate_authorization(authzr)

    def fetch_certificate(self, ca_ref: str) -> bytes:
        """Return the issued chain as PEM, leaf first; raises CAError if not issued yet."""
        self._load(ca_ref)
        with self._t.lock, self._t.translate("download the certificate"):
            order = self._t.order(ca_ref)
            if order.status != messages.STATUS_VALID or not order.certificate:
                raise CAError(
                    "The CA has not issued this certificate yet.",
                    retryable=order.status == messages.STATUS_PROCESSING,
                )
            pem = self._t.post_as_get(order.certificate).text
        if "-----BEGIN CERTIFICATE-----" not in pem:
            raise CAError("The ACME CA sent something that is not a PEM certificate chain.")
        return pem.encode("ascii")

    def revoke(self, ca_ref: str, certificate_pem: bytes, *, reason: int = 0) -> None:
        """Revoke the certificate with the account key and an RFC 5280 reason; raises CAError."""
        leaf = certificate_to_revoke(certificate_pem)
        with self._t.lock, self._t.translate("revoke the certificate"):
            self._t.client().revoke(leaf, reason)


def _check_csr_names(submission: Submission) -> None:
    """The order is made from the CSR's names: they must be exactly the submission's domains."""
    try:
        csr = x509.load_pem_x509_csr(submission.csr_pem)
    except ValueError:
        raise CAError("The certificate request (CSR) cannot be read.") from None
    names = {a.value.lower() for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names |= {n.lower() for n in san.value.get_values_for_type(x509.DNSName)}
    except x509.ExtensionNotFound:
        pass
    wanted = {d.lower() for d in submission.domains}
    if names != wanted:
        raise CAError(
            f"The certificate request names {', '.join(sorted(map(str, names)))} but the order "
            f"lists {', '.join(sorted(wanted))}; generate the CSR again for exactly these domains."
        )
