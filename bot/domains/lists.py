"""An order's domain names, typed in the box and/or given in a file, checked as one list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domains.names import FIELD, Domain, Problem, parse_one, quote, wildcard_refusal
from bot.errors import FieldErrors, ValidationError

#: The file input's field (block id): problems with names given in a file go there.
FILE_FIELD = "domains_file"
TYPES = ("single", "multi", "wildcard")
PRODUCTS = ("dv", "ov", "ev")
#: A file's bad lines are listed up to this many, and this many characters in all (Slack
#: shows a field error of up to 2,000 characters); the rest are counted.
MAX_LISTED, MAX_LISTED_CHARS = 12, 1600


@dataclass(frozen=True)
class Listed:
    """Names given in a file (or kept from one), each with the line of the file it came from."""

    label: str  # how messages name the source, e.g. "names.txt"
    entries: tuple[tuple[int, str], ...]

    @property
    def digest(self) -> str:
        """A short fingerprint: a modal that shows kept names carries it, so its submission
        uses exactly the names it showed."""
        blob = json.dumps([self.label, self.entries]).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_data(self) -> dict[str, Any]:
        """As JSON, for keeping in a draft."""
        return {"label": self.label, "entries": [list(e) for e in self.entries]}

    @classmethod
    def from_data(cls, data: object) -> Listed | None:
        """What to_data wrote; None for anything else (a draft is only ever our own JSON, but
        an old or damaged one must not break the modal)."""
        if not isinstance(data, dict) or not isinstance(data.get("label"), str):
            return None
        entries = data.get("entries")
        found = tuple(
            (e[0], e[1])
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, list) and len(e) == 2 and type(e[0]) is int and isinstance(e[1], str)
        )
        return cls(label=data["label"], entries=found) if found else None


@dataclass
class _Checked:
    found: list[Domain]
    problems: list[str]
    entered: int = 0  # names given, bad ones too; for a file, each different name once
    merged: int = 0  # names given again (in the file, or in the file and the box)


def parse_domains(
    text: str,
    *,
    expected_count: int,
    domain_type: str,
    product: str,
    attached: Listed | None = None,
) -> list[Domain]:
    """Parse the "Domains" box (one name per line) and the names of an attached file.

    Without ``attached``: raise ValidationError listing every problem with its line. With it:
    names typed and names in the file are combined (a name given twice counts once), and
    FieldErrors puts each problem on the input it came from.
    """
    if domain_type not in TYPES or product not in PRODUCTS:
        raise ValueError(f"unknown domain_type {domain_type!r} or product {product!r}")
    if expected_count < 1 or (domain_type == "single" and expected_count != 1):
        raise ValueError(f"expected_count {expected_count} does not fit a {domain_type} order")
    refusal = wildcard_refusal(domain_type=domain_type, product=product)
    typed = _typed(text, refusal)
    if attached is None:
        if typed.entered == 0:
            typed.problems.insert(0, "Enter the domain names, one per line.")
        else:
            count = _count_problem(expected=expected_count, entered=typed.entered)
            if count:
                typed.problems.insert(0, count)
        if typed.problems:
            raise ValidationError("\n".join(typed.problems), field=FIELD)
        return typed.found
    given = _from_file(attached, refusal, {d.ascii for d in typed.found})
    errors: dict[str, str] = {}
    if typed.problems:
        errors[FIELD] = "\n".join(typed.problems)
    head: list[str] = []
    if typed.entered + given.entered == 0:
        head.append(f"{attached.label} holds no domain names.")
    else:
        count = _count_problem(
            expected=expected_count,
            entered=typed.entered + given.entered,
            typed=typed.entered,
            label=attached.label,
        )
        if count:
            if given.merged:
                count += " Names given twice are counted once."
            head.append(count)
    listed: list[str] = []
    for problem in given.problems[:MAX_LISTED]:
        if listed and sum(len(p) + 1 for p in [*head, *listed, problem]) > MAX_LISTED_CHARS:
            break
        listed.append(problem)
    more = len(given.problems) - len(listed)
    if more:
        listed.append(f"…and {more} more line{'s' if more != 1 else ''} to correct in the file.")
    if head or listed:
        errors[FILE_FIELD] = "\n".join(head + listed)
    if errors:
        raise FieldErrors(errors)
    return typed.found + given.found


def _typed(text: str, refusal: str | None) -> _Checked:
    """The box: every line checked; a repeated line is an error (the person can see both)."""
    checked = _Checked(found=[], problems=[])
    seen: dict[str, int] = {}
    # Line numbers count blank lines too, so they match what the person sees in the box.
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        checked.entered += 1
        try:
            domain = parse_one(line, wildcard_refusal=refusal)
        except Problem as problem:
            checked.problems.append(f"Line {number}, {quote(line)}: {problem}")
            continue
        if domain.ascii in seen:
            checked.problems.append(
                f"Line {number}, {quote(line)}: repeats line {seen[domain.ascii]}"
            )
            continue
        seen[domain.ascii] = number
        checked.found.append(domain)
    return checked


def _from_file(attached: Listed, refusal: str | None, typed: Iterable[str]) -> _Checked:
    """A file's names: a name already given (typed, or earlier in the file) is merged."""
    checked = _Checked(found=[], problems=[])
    seen, bad = set(typed), set()
    for number, name in attached.entries:
        try:
            domain = parse_one(name, wildcard_refusal=refusal)
        except Problem as problem:
            if name.casefold() in bad:
                checked.merged += 1
                continue
            bad.add(name.casefold())
            checked.entered += 1
            checked.problems.append(f"Line {number} of {attached.label}, {quote(name)}: {problem}")
            continue
        if domain.ascii in seen:
            checked.merged += 1
            continue
        seen.add(domain.ascii)
        checked.entered += 1
        checked.found.append(domain)
    return checked


def _count_problem(
    *, expected: int, entered: int, typed: int | None = None, label: str = ""
) -> str | None:
    if entered == expected:
        return None
    gave = f"entered {entered}"
    if typed is not None:
        parts = ([f"{typed} typed"] if typed else []) + [f"{entered - typed} in {label}"]
        gave = f"gave {entered} different name{'s' if entered != 1 else ''} ({', '.join(parts)})"
    bought = f"You bought {expected} domain{'s' if expected != 1 else ''} and {gave}"
    if entered < expected:
        return f"{bought}: add {expected - entered} more."
    return f"{bought}: remove {entered - expected}."
