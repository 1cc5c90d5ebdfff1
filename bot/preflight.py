"""DNS checks run before an order goes to any CA: the domains' CAA records must allow that CA.

Which resolver answers (``resolver_for``):

- CERTDESK_DNS_RESOLVER (host:port) when set, for every backend;
- otherwise the system resolver, except for the simulated CA: it issues from certdesk's own
  local root, so public CAA records do not bind it, and the tests and the offline demo must
  never query a real DNS server. Set CERTDESK_DNS_RESOLVER to exercise CAA with it too
  (its issuer domain is ``certdesk.invalid``).

A resolver that cannot be reached is an outage, not a refusal: ``check_before_submit`` raises
a retryable CAError so the order waits and is sent again later.
"""

from __future__ import annotations

from bot.ca.base import Submission
from bot.dnscheck import UNREACHABLE, Resolver, check_all_caa
from bot.errors import CAError, ConfigError, PreflightError
from bot.services import Services

#: Backends whose certificates public CAA records do not govern.
LOCAL_BACKENDS = frozenset({"simulated"})
#: Seconds one DNS query may take before the resolver counts as unreachable.
DNS_TIMEOUT = 3.0


def resolver_for(services: Services) -> Resolver | None:
    """The resolver pre-flight checks use, or None when they are skipped (see the module doc).

    Raises ConfigError when the system has no resolver and none is configured.
    """
    address = services.settings.dns_resolver
    if address:
        return Resolver(address, timeout=DNS_TIMEOUT)
    if services.ca.name in LOCAL_BACKENDS:
        return None
    return Resolver(timeout=DNS_TIMEOUT)


def check_before_submit(services: Services, submission: Submission) -> None:
    """Check CAA for every domain of ``submission`` against the configured CA.

    Raises PreflightError (the order should fail) quoting each record that forbids the CA
    and what to change; CAError(retryable=True) when DNS cannot be asked right now.
    """
    ref, ca = submission.order_ref, services.ca
    try:
        resolver = resolver_for(services)
    except ConfigError as exc:
        raise CAError(
            f"certdesk could not check the DNS of {ref} before sending it to the CA: {exc}",
            retryable=True,
        ) from None
    if resolver is None:
        return
    try:
        check_all_caa(resolver, submission.domains, ca_identities=ca.caa_identities)
    except PreflightError as exc:
        if UNREACHABLE in str(exc):
            raise CAError(
                f"certdesk could not check the CAA records of {ref}'s domains, so it has not "
                f"sent {ref} to the CA yet: {exc} certdesk will try again by itself.",
                retryable=True,
            ) from None
        raise PreflightError(
            f"{ref} was not sent to the CA: the domains' CAA records do not let the "
            f"{ca.name} CA ({_identities(ca.caa_identities)}) issue for them.\n{exc}"
        ) from None


def _identities(identities: tuple[str, ...]) -> str:
    if not identities:
        return "issuer domain not configured"
    return "issuer domain " + ", ".join(identities)
