"""Domain names: one as typed (``names``), an order's list (``lists``), a file (``files``)."""

from bot.domains.files import names_in_file
from bot.domains.lists import FILE_FIELD, Listed, parse_domains
from bot.domains.names import (
    FIELD,
    MAX_LABEL,
    MAX_NAME,
    Domain,
    display_name,
    parse_domain,
)

__all__ = [
    "FIELD",
    "FILE_FIELD",
    "MAX_LABEL",
    "MAX_NAME",
    "Domain",
    "Listed",
    "display_name",
    "names_in_file",
    "parse_domain",
    "parse_domains",
]
