"""A CSR attached to the Complete modal as a file: fetched through the notifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.application_form import CSR_FILE, CSR_METHOD, UploadedFile
from bot.services import Services


def with_csr_file(services: Services, raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with an attached CSR file (Slack's file objects) replaced by its downloaded bytes."""
    values = dict(raw)
    files = values.get(CSR_FILE)
    if not files or values.get(CSR_METHOD) != "upload":
        values.pop(CSR_FILE, None)
        return values
    if len(files) > 1:
        values[CSR_FILE] = UploadedFile("", problem="Attach just one file: the CSR for this order.")
        return values
    values[CSR_FILE] = services.notifier.download(files[0])
    return values
