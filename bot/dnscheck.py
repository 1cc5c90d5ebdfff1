"""DNS pre-flight checks run before anything goes to a CA: CAA policy and published TXT records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
from dns.rdata import Rdata

from bot.errors import ConfigError, DNSUnreachable, PreflightError

#: CAA tags (RFC 8659, 8657, 9495 and the CA/B Forum's) a CA understands; an unknown tag
#: flagged critical forbids issuance.
KNOWN_TAGS = frozenset(
    {"issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone"}
)
CRITICAL = 128


class Resolver:
    """A DNS resolver: one "host:port" server (CERTDESK_DNS_RESOLVER) or the system's."""

    def __init__(self, address: str | None = None, *, timeout: float = 3.0) -> None:
        if address:
            host, port = _split_address(address)
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [host]
            self._resolver.port = port
            self.description = f"the DNS resolver {address}"
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                raise ConfigError(
                    "This machine has no DNS resolver configured: "
                    "set CERTDESK_DNS_RESOLVER to host:port."
                ) from None
            self.description = "the system DNS resolver"
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._resolver.cache = None  # a re-check must see a record published a moment ago

    def lookup(self, name: str, rdtype: str) -> list[Rdata]:
        """Return the records of ``rdtype`` at ``name``; [] when the name or type has none.

        Raises PreflightError when the resolver cannot be reached or the lookup fails.
        """
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            raise PreflightError(f"“{name}” is not a valid DNS name.") from None
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            raise DNSUnreachable(
                f"{self.description} could not be reached (no answer within "
                f"{self._resolver.lifetime:g} s) while looking up the {rdtype} records of {name}. "
                "This is usually temporary: try again in a few minutes."
            ) from None
        except dns.resolver.NoNameservers:
            raise PreflightError(
                f"The DNS servers for {name} failed to answer a {rdtype} query "
                f"(asked via {self.description}). A CA treats this as a refusal to issue: "
                "ask whoever runs the domain's DNS to fix it, then try again."
            ) from None
        except dns.exception.DNSException as exc:
            raise PreflightError(
                f"Looking up the {rdtype} records of {name} via {self.description} failed: {exc}"
            ) from None
        return list(answer.rrset) if answer.rrset is not None else []


def _split_address(address: str) -> tuple[str, int]:
    """Split "host:port", "[v6]:port" or a bare host (port 53)."""
    host, port = address, "53"
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif address.count(":") == 1:
        host, port = address.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"CERTDESK_DNS_RESOLVER must be host:port, not “{address}”.")
    return host, int(port)


def _tag(rdata: Rdata) -> str:
    return rdata.tag.decode("ascii", "replace").lower()  # type: ignore[attr-defined]


def _issuer(rdata: Rdata) -> str:
    """The issuer domain of an issue/issuewild value ("" means no CA may issue)."""
    value = rdata.value.decode("utf-8", "replace")  # type: ignore[attr-defined]
    return value.split(";", 1)[0].strip().rstrip(".").lower()


def _quote(records: Sequence[Rdata]) -> str:
    return ", ".join(f"“{r.to_text()}”" for r in records)


def _closest_caa(resolver: Resolver, base: str) -> tuple[str, list[Rdata]]:
    """RFC 8659 §3: climb from ``base`` towards the root; the first CAA RRset found applies."""
    labels = base.rstrip(".").split(".")
    for i in range(len(labels)):
        name = ".".join(labels[i:])
        records = [r for r in resolver.lookup(name, "CAA") if r.rdtype == dns.rdatatype.CAA]
        if records:
            return name, records
    return base, []


@dataclass(frozen=True)
class Unchecked:
    """CAA records naming CAs that could not be compared with this CA: its identity is unknown."""

    domain: str
    #: Where the records are and what they allow, e.g. ``example.com has the CAA record
    #: “0 issue "letsencrypt.org"”, which allows only letsencrypt.org to issue certificates``.
    description: str


def check_caa(
    resolver: Resolver, domain: str, *, ca_identities: Sequence[str], wildcard: bool
) -> Unchecked | None:
    """Raise PreflightError if the CAA records governing ``domain`` forbid this CA to issue.

    No CAA record anywhere up the tree means any CA may issue. ``*.`` names are checked
    as wildcards whatever ``wildcard`` says. With an empty ``ca_identities`` only records
    that forbid every CA (a critical unknown tag, ``issue ";"``) can be judged: records
    naming CAs are returned as ``Unchecked`` for the caller to mention.
    """
    wildcard = wildcard or domain.startswith("*.")
    base = domain.removeprefix("*.").rstrip(".").lower()
    where, records = _closest_caa(resolver, base)
    if not records:
        return None
    inherited = "" if where == base else f" (inherited by {domain})"

    critical = [r for r in records if r.flags & CRITICAL and _tag(r) not in KNOWN_TAGS]  # type: ignore[attr-defined]
    if critical:
        raise PreflightError(
            f"{where} has the CAA record {_quote(critical)}{inherited}, marked critical with a "
            "tag CAs do not understand, so no CA may issue for it. Remove that record or clear "
            "its critical flag (128 → 0), then submit again."
        )

    tag = "issue"
    if wildcard and any(_tag(r) == "issuewild" for r in records):
        tag = "issuewild"  # RFC 8659 §4.3: issuewild, when present, replaces issue for wildcards
    policy = [r for r in records if _tag(r) == tag]
    if not policy:
        return None  # only iodef/issuewild-for-others: no restriction on this kind of name
    wanted = {i.rstrip(".").lower() for i in ca_identities}
    allowed = [_issuer(r) for r in policy]
    if wanted & set(allowed):
        return None

    named = sorted({a for a in allowed if a})
    allows = f"allow only {', '.join(named)} to issue" if named else "allow no CA to issue"
    record_s = "record" if len(policy) == 1 else "records"
    if len(policy) == 1:
        allows = allows.replace("allow ", "allows ", 1)
    kind = " wildcard certificates" if tag == "issuewild" else " certificates"
    found = f"{where} has the CAA {record_s} {_quote(policy)}{inherited}, which {allows}{kind}"
    if not ca_identities:
        if named:
            return Unchecked(domain=domain, description=found)
        raise PreflightError(
            f"{found}. Replace it with a record naming the CA's issuer domain (ask whoever "
            f"manages the DNS of {where}), then submit again."
        )
    fix = f'{tag} "{ca_identities[0]}"'
    raise PreflightError(
        f"{found}. Add the CAA record “0 {fix}” at {where} (or ask whoever manages its DNS), "
        "then submit again."
    )


def check_all_caa(
    resolver: Resolver, domains: Sequence[str], *, ca_identities: Sequence[str]
) -> list[Unchecked]:
    """Check CAA for every domain; raise one PreflightError listing every problem found.

    Returns the records that could not be judged (only when ``ca_identities`` is empty).
    """
    problems: list[str] = []
    unchecked: list[Unchecked] = []
    for domain in domains:
        try:
            found = check_caa(
                resolver, domain, ca_identities=ca_identities, wildcard=domain.startswith("*.")
            )
        except DNSUnreachable:
            raise  # the resolver is down: every other domain would only wait and fail too
        except PreflightError as exc:
            problems.append(str(exc))
        else:
            if found is not None:
                unchecked.append(found)
    if problems:
        raise PreflightError("\n".join(problems))
    return unchecked


def _txt_strings(records: Sequence[Rdata]) -> list[str]:
    # A TXT record may be split into several character-strings; they form one value.
    return [b"".join(r.strings).decode("utf-8", "replace") for r in records]  # type: ignore[attr-defined]


def check_txt_visible(resolver: Resolver, name: str, value: str) -> None:
    """Raise PreflightError unless ``name`` has a TXT record whose value is exactly ``value``."""
    records = [r for r in resolver.lookup(name, "TXT") if r.rdtype == dns.rdatatype.TXT]
    found = _txt_strings(records)
    if value in found:
        return
    seen = ", ".join(f"“{f}”" for f in found) if found else "no TXT record at all"
    raise PreflightError(
        f"{name.rstrip('.')} has no TXT record “{value}” yet (found: {seen}). "
        "Publish it exactly as shown; DNS changes can take a few minutes to appear."
    )
