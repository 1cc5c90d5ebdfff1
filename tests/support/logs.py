"""Capturing log records as they would be written, tracebacks included."""

from __future__ import annotations

import logging
import traceback


class Lines(logging.Handler):
    """Every record as it would be written, traceback included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.records.append(record)
        self.texts.append(text)
