"""One domain name as a person types it: parsed, mapped to its A-label, and checked."""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

from bot.errors import ValidationError

FIELD = "domains"
MAX_LABEL = 63
MAX_NAME = 253
_LDH = frozenset(string.ascii_lowercase + string.digits + "-")
# Names no public CA may certify (CA/B Forum BR ban internal names); kept short on purpose.
_INTERNAL = ("localhost", "local", "internal", "home.arpa", "lan", "localdomain")


@dataclass(frozen=True)
class Domain:
    """One name for the certificate: its A-label form and the form the person typed."""

    ascii: str
    display: str

    @property
    def wildcard(self) -> bool:
        """True for a name such as ``*.example.com``."""
        return self.ascii.startswith("*.")


class Problem(Exception):
    """Why one line is not a usable name; the caller adds which line it was."""


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # The ICANN section decides what is registrable, as CAs judge it; private entries such
    # as github.io are domains someone owns. The bundled list is offline: no network.
    return PublicSuffixList(only_icann=True)


def quote(text: str, limit: int = 60) -> str:
    """``text`` in quotes for a message, shortened, with unprintable characters replaced."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    # Control characters and lone surrogates would garble (or break) the Slack message.
    return "“" + "".join(c if c.isprintable() else "\ufffd" for c in shown) + "”"


def _char(ch: str) -> str:
    return quote(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _host_hint(text: str) -> str:
    """Explain that a URL or host:port is not a host name, naming the host when we can."""
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname
    except ValueError:
        host = None
    if host:
        try:
            parse_one(host, wildcard_refusal=None)
        except Problem:
            host = None
    return f"enter the host name only: {host}" if host else "enter the host name only"


def _remap(text: str) -> str:
    """Apply UTS 46 mapping (case folding, full-width forms); name the first bad character."""
    try:
        return idna.uts46_remap(text, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, IndexError) as exc:
        for ch in text:
            try:
                idna.uts46_remap(ch, std3_rules=False, transitional=False)
            except (idna.IDNAError, UnicodeError, IndexError):
                raise Problem(f"the character {_char(ch)} cannot be used in a domain name") from exc
        raise Problem("this is not a valid domain name") from exc


def _alabel(label: str) -> str:
    """Check one label (already mapped) and return its A-label."""
    bad = sorted({ch for ch in label if ord(ch) < 128 and ch not in _LDH})
    if bad:
        found = ", ".join(_char(ch) for ch in bad)
        raise Problem(f"only letters, digits and hyphens are allowed (found {found})")
    if label.startswith("-") or label.endswith("-"):
        raise Problem(f"a part of the name cannot start or end with a hyphen ({quote(label)})")
    if label.isascii():
        if label.startswith("xn--"):
            try:
                if idna.alabel(idna.ulabel(label)).decode("ascii") != label:
                    raise idna.IDNAError("not canonical")
            except (idna.IDNAError, UnicodeError) as exc:
                raise Problem(f"{quote(label)} is not valid punycode") from exc
        elif label[2:4] == "--":
            raise Problem(
                f"{quote(label)} has “--” as its third and fourth characters, "
                "which only internationalized (“xn--”) names may have"
            )
        result = label
    else:
        # idna refuses over-long labels with a bare "Label too long"; measure first so the
        # message can give the length and the limit.
        encoded = "xn--" + label.encode("punycode").decode("ascii")
        if len(encoded) > MAX_LABEL:
            raise Problem(
                f"the part {quote(label)} is {len(encoded)} characters long in its "
                f"encoded form ({quote(encoded)}); the limit is {MAX_LABEL}"
            )
        try:
            result = idna.alabel(label).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise Problem(f"{quote(label)} is not a valid internationalized name ({exc})") from exc
    if len(result) > MAX_LABEL:
        raise Problem(
            f"the part {quote(label)} is {len(result)} characters long; the limit is {MAX_LABEL}"
        )
    return result


def parse_one(text: str, *, wildcard_refusal: str | None) -> Domain:
    """Parse one stripped, non-blank line or raise Problem; ``wildcard_refusal``: why not "*"."""
    if "://" in text or "/" in text or "?" in text:
        raise Problem(_host_hint(text))
    if _is_ip(text):
        raise Problem("IP addresses cannot be used; enter a domain name")
    # Lists pasted from a spreadsheet or an email arrive on one line; say how to split them.
    parts = text.split()
    if "," in text or ";" in text or (len(parts) > 1 and all("." in part for part in parts)):
        raise Problem("put each domain on a line of its own")
    if any(ch.isspace() for ch in text):
        raise Problem("spaces are not allowed in a domain name")
    if "@" in text:
        raise Problem("enter the domain name only, not an email address")
    if text.count(":") == 1 and text.rsplit(":", 1)[1].isdigit():
        raise Problem(_host_hint(text))
    mapped = _remap(text)
    if mapped.endswith("."):
        mapped = mapped[:-1]  # a fully qualified name's trailing dot means the same name
    labels = mapped.split(".")
    wildcard = "*" in mapped
    if wildcard:
        if wildcard_refusal is not None:
            raise Problem(wildcard_refusal)
        if labels[0] != "*" or "*" in ".".join(labels[1:]):
            raise Problem(
                "a wildcard must be the whole leftmost part of the name, as in *.example.com"
            )
        labels = labels[1:]
        if not labels:
            raise Problem("a wildcard needs a domain after it, as in *.example.com")
    if any(label == "" for label in labels):
        raise Problem("the name has an empty part (two dots in a row, or a dot at the start)")
    base = ".".join(_alabel(label) for label in labels)
    full = f"*.{base}" if wildcard else base
    if len(full) > MAX_NAME:
        raise Problem(f"the name is {len(full)} characters long; the limit is {MAX_NAME}")
    if base.rsplit(".", 1)[-1].isdigit():
        raise Problem("this looks like an IP address; enter a domain name")
    if any(base == s or base.endswith("." + s) for s in _INTERNAL):
        raise Problem("this is an internal name; a public CA cannot issue certificates for it")
    _check_registrable(base, wildcard=wildcard)
    return Domain(ascii=full, display=text[:-1] if text.endswith(".") else text)


def _check_registrable(base: str, *, wildcard: bool) -> None:
    """Refuse names with no registrable domain (public suffixes, lone top-level names)."""
    psl = _psl()
    if psl.privatesuffix(base) is not None:
        return
    shown = display_name(base)
    if psl.publicsuffix(base, accept_unknown=False) is None:
        raise Problem(f"enter the full domain name, such as {shown}.example.com")
    if wildcard:
        raise Problem(
            f"*.{shown} would cover every domain under the public suffix “{shown}”; "
            f"enter one you own, such as *.example.{shown}"
        )
    raise Problem(
        f"“{shown}” is a public suffix that nobody can register; "
        f"enter a name under it, such as example.{shown}"
    )


def parse_domain(text: str, *, allow_wildcard: bool) -> Domain:
    """Parse one domain name as typed; raise ValidationError saying what to fix."""
    stripped = text.strip()
    if not stripped:
        raise ValidationError("Enter a domain name, such as example.com.", field=FIELD)
    refusal = None if allow_wildcard else "a wildcard (*) is not allowed here; enter the full name"
    try:
        return parse_one(stripped, wildcard_refusal=refusal)
    except Problem as problem:
        raise ValidationError(f"{quote(stripped)}: {problem}", field=FIELD) from None


def wildcard_refusal(*, domain_type: str, product: str) -> str | None:
    """Why a wildcard is refused on this kind of order; None when it is allowed."""
    if product == "ev":
        return "EV certificates cannot cover wildcards; enter each host name in full"
    if domain_type != "wildcard":
        kind = "single-domain" if domain_type == "single" else "multi-domain"
        return (
            f"a wildcard (*) needs a wildcard certificate and this order is for a {kind} "
            "certificate; enter each host name in full"
        )
    return None


def display_name(ascii_name: str) -> str:
    """Return the Unicode form of an A-label name for showing; the ASCII form if it won't decode."""
    prefix, rest = ("*.", ascii_name[2:]) if ascii_name.startswith("*.") else ("", ascii_name)
    try:
        return prefix + idna.decode(rest)
    except (idna.IDNAError, UnicodeError, ValueError):
        return ascii_name
