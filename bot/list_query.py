"""What `/cert list` was asked to show: whose orders, which states, which domain."""

from __future__ import annotations

from dataclasses import dataclass

import idna

from bot.errors import ValidationError

#: Words that pick a state group (storage.order_pages.StateGroup's values).
GROUPS = ("waiting", "failed", "expiring")


@dataclass(frozen=True)
class ListQuery:
    """A parsed `/cert list` filter; ``words`` gives it back as typed (for the page buttons)."""

    #: "all" (every order of the workspace; admins only), "mine", or None: the default, which
    #: is everything for an admin and the person's own (and watched) orders for anyone else.
    scope: str | None = None
    group: str | None = None
    domain: str | None = None  # an A-label name: it and every name under it

    @property
    def words(self) -> str:
        """The filter as words, e.g. "all waiting example.com"."""
        parts = [self.scope or "", self.group or "", self.domain or ""]
        return " ".join(p for p in parts if p)


def parse_list_query(text: str) -> ListQuery:
    """Read `/cert list [all|mine] [waiting|failed|expiring] [domain]`; ValidationError says
    what is wrong in words."""
    scope, group, domain = None, None, None
    for word in (text or "").lower().split()[:4]:
        if word in ("all", "mine"):
            scope = word
        elif word in GROUPS:
            group = word
        elif "." in word and domain is None:
            domain = _a_label(word)
        else:
            raise ValidationError(
                f"`/cert list` does not know “{word[:40]}”. Try `/cert list`, `/cert list "
                "waiting`, `failed`, `expiring`, a domain such as `example.com`, or `all` "
                "(admins)."
            )
    return ListQuery(scope=scope, group=group, domain=domain)


def _a_label(word: str) -> str:
    name = word.strip().strip(".").removeprefix("*.")
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ValidationError(f"“{word[:60]}” is not a domain name I can look for.") from None
