"""Domain names attached to the Complete modal as a file: fetched through the notifier, read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.application_form import DOMAINS_FILE, UploadedFile, names_file
from bot.domains import Listed
from bot.services import Services

#: Said when the names a form showed as kept are no longer the ones certdesk holds.
KEPT_CHANGED = (
    "The names kept from your file changed since this form was opened (in another window?). "
    "Attach the file again."
)


def attached_names(
    services: Services, raw: Mapping[str, Any], *, expected: int
) -> Listed | UploadedFile | None:
    """The names in the file attached to the form; an UploadedFile saying why it could not be
    read; None when no file is attached. Call it only after the access check."""
    files = raw.get(DOMAINS_FILE)
    if not files:
        return None
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        return UploadedFile(
            "", problem="certdesk could not read the attached file: attach it again."
        )
    if len(files) > 1:
        return UploadedFile("", problem="Attach just one file with all the names.")
    return names_file(services.notifier.download(files[0]), expected=expected)
