"""Domain names from an attached .txt or .csv file: decoded, split, a header row skipped."""

from __future__ import annotations

import codecs
import csv
import re

from bot.domains.lists import FILE_FIELD, Listed
from bot.errors import ValidationError

#: Words a spreadsheet's header row uses for the column of names (compared in lower case).
_HEADERS = frozenset(
    {
        "domain", "domains", "domain name", "domain names", "name", "names", "host",
        "hosts", "hostname", "hostnames", "host name", "host names", "fqdn", "san", "sans",
        "dns", "dns name", "dns names", "common name", "cn", "subject alternative name",
        "subject alternative names", "site", "sites", "website", "websites",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"[\s;]+")
_LINES = re.compile(r"\r\n|\r|\n")
# Tab, line breaks and form feed occur in text files; other control characters do not.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def names_in_file(content: bytes, *, label: str, expected: int) -> Listed:
    """The names in a file a person attached, each with its line number.

    One name per line, or several separated by commas, semicolons or spaces; a CSV header
    row (``domain``, ``hostname``…) is skipped, and with several columns only that one is
    read. Raise ValidationError (on the file's field) for a file that is not text, holds no
    names, or far more than the ``expected`` count (a few too many are counted by the caller).
    """
    text = _decode(content, label)
    most = max(2 * expected, expected + 50)
    entries: list[tuple[int, str]] = []
    column: int | None = None
    header_seen = False
    reader = csv.reader(_LINES.split(text))
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            column = _header_column(cells)
            if column is not None:
                if len(cells) == 1:
                    column = None  # a one-column file: every token below is a name
                continue
        if column is not None:
            cells = cells[column : column + 1]
        for cell in cells:
            entries += [(reader.line_num, t) for t in _SEPARATORS.split(cell.strip('"')) if t]
        if len(entries) > most:
            raise ValidationError(
                f"{label} holds over {most} names and this order takes {expected}. "
                "Attach a file with just this order's names.",
                field=FILE_FIELD,
            )
    if not entries:
        raise ValidationError(
            f"{label} holds no domain names: put them in it, one per line.", field=FILE_FIELD
        )
    return Listed(label=label, entries=tuple(entries))


def _decode(content: bytes, label: str) -> str:
    """The file's text (UTF-8, or UTF-16 with its byte order mark); ValidationError if none."""
    not_text = (
        f"{label} is not a text file. Attach a .txt or .csv file with the names, "
        "one per line (in a spreadsheet: save as “CSV UTF-8”)."
    )
    try:
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = content.decode("utf-16")
        else:
            text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(not_text, field=FILE_FIELD) from None
    if _CONTROL.search(text):
        raise ValidationError(not_text, field=FILE_FIELD)
    return text


def _header_column(cells: list[str]) -> int | None:
    """The column of names when ``cells`` is a header row; None when it is a row of names."""
    if any("." in cell for cell in cells):
        return None
    for index, cell in enumerate(cells):
        if " ".join(re.split(r"[\s_-]+", cell.strip('"').lower())).strip() in _HEADERS:
            return index
    return None
