"""DNS checks run before an order goes to any CA: the domains' CAA records must allow that CA.

Which resolver answers (``resolver_for``):

- CERTDESK_DNS_RESOLVER (host:port) when set, for every backend;
- otherwise the system resolver, except for the simulated CA: it issues from certdesk's own
  local root, so public CAA records do not bind it, and the tests and the offline demo must
  never query a real DNS server. Set CERTDESK_DNS_RESOLVER to exercise CAA with it too
  (its issuer domain is ``certdesk.invalid``). The same holds for any backend talking to a
  local stand-in (``CABackend.local``, e.g. aliyun at a plain-HTTP endpoint).

A resolver that cannot be reached is an outage, not a refusal: ``check_before_submit`` raises
a retryable CAError so the order waits and is sent again later.

Which CA the records are compared with: the backend's ``caa_identities`` (for ACME the
configured ones, else the directory's ``meta.caaIdentities``, else a table of well-known
CAs). When none is known, records that forbid every CA still stop the order; records that
name CAs cannot be judged, and ``check_before_submit`` returns a sentence saying so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ca.base import Submission
from bot.errors import CAError, ConfigError, DNSUnreachable, PreflightError
from bot.services import Services

if TYPE_CHECKING:  # dnspython is ~3 MB resident: loaded when a check first runs
    from bot.dnscheck import Resolver, Unchecked

logger = logging.getLogger(__name__)

#: Backends whose certificates public CAA records do not govern.
LOCAL_BACKENDS = frozenset({"simulated"})
#: Seconds one DNS query may take before the resolver counts as unreachable.
DNS_TIMEOUT = 3.0
#: The setting that names a backend's CAA issuer domain when the CA does not publish it.
_IDENTITY_SETTING = {"acme": "CERTDESK_ACME_CAA_IDENTITIES"}


def resolver_for(services: Services) -> Resolver | None:
    """The resolver pre-flight checks use, or None when they are skipped (see the module doc).

    Raises ConfigError when the system has no resolver and none is configured.
    """
    from bot.dnscheck import Resolver

    address = services.settings.dns_resolver
    if address:
        return Resolver(address, timeout=DNS_TIMEOUT)
    if services.ca.name in LOCAL_BACKENDS or services.ca.local:
        return None
    return Resolver(timeout=DNS_TIMEOUT)


@dataclass(frozen=True)
class PreflightResult:
    """What the checks could not settle, worded for the requester; empty when all was checked.

    ``warnings`` are plain sentences (no markup; DNS text quoted as found) meant for the
    message that tells the requester their order went to the CA.
    """

    warnings: tuple[str, ...] = ()


def check_before_submit(services: Services, submission: Submission) -> PreflightResult:
    """Check CAA for every domain of ``submission`` against the configured CA.

    Raises PreflightError (the order should fail) quoting each record that forbids the CA
    and what to change; CAError(retryable=True) when DNS (or, for ACME, the CA's directory)
    cannot be asked right now. Returns a warning when the CA's CAA identity is unknown and
    records naming CAs could therefore not be judged.
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
        return PreflightResult()
    identities = ca.caa_identities  # an ACME backend may read its directory for them
    from bot.dnscheck import check_all_caa

    try:
        unchecked = check_all_caa(resolver, submission.domains, ca_identities=identities)
    except DNSUnreachable as exc:
        raise CAError(
            f"certdesk could not check the CAA records of {ref}'s domains, so it has not "
            f"sent {ref} to the CA yet: {exc} certdesk will try again by itself.",
            retryable=True,
        ) from None
    except PreflightError as exc:
        raise PreflightError(
            f"{ref} was not sent to the CA: the domains' CAA records do not let the "
            f"{ca.name} CA ({_identities(identities)}) issue for them.\n{exc}"
        ) from None
    if not unchecked:
        return PreflightResult()
    logger.info(
        "%s: CAA records naming CAs not checked: the %s CA's identity is unknown", ref, ca.name
    )
    return PreflightResult(warnings=(_skipped(ref, ca.name, unchecked),))


def _skipped(ref: str, ca_name: str, unchecked: list[Unchecked]) -> str:
    """The sentence telling the requester which CAA records were not judged, and why."""
    found = "; ".join(dict.fromkeys(u.description for u in unchecked))  # once each, in order
    setting = _IDENTITY_SETTING.get(ca_name)
    admin = (
        f" An admin can set {setting} to the CA's issuer domain so certdesk checks this "
        "before sending orders."
        if setting
        else ""
    )
    return (
        f"certdesk could not check whether the CAA records of {ref}'s domains let the "
        f"{ca_name} CA issue, because that CA does not publish the issuer domain it uses in "
        f"CAA records and none is configured: {found}. If that CA's issuer domain is not "
        f"among those named, it will refuse {ref} when it validates the domains.{admin}"
    )


def _identities(identities: tuple[str, ...]) -> str:
    if not identities:
        return "issuer domain unknown"
    return "issuer domain " + ", ".join(identities)
