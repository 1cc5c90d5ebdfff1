"""One flat hierarchy of errors, each worded for the person who must act on it."""

from __future__ import annotations


class Error(Exception):
    """Base of every error certdesk raises on purpose; its message is shown to people."""


class ConfigError(Error):
    """A setting is missing or malformed; the message names the variable."""


class ValidationError(Error):
    """Input a person typed is wrong.

    ``field`` names the input (a block id in Slack) the message belongs to, when known.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FieldErrors(Error):
    """Several inputs are wrong at once: ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class CSRError(ValidationError):
    """An uploaded certificate signing request cannot be used."""


class NotFound(Error):
    """The order (or other object) asked for does not exist or is not visible to the asker."""


class NotAllowed(Error):
    """The acting user may not do this to this order."""


class IllegalTransition(Error):
    """The order is not in a state where this step is possible."""


class CustodyError(Error):
    """A private key cannot be encrypted or decrypted (missing or wrong master key)."""


class CAError(Error):
    """The certificate authority refused a request or could not be reached.

    ``retryable`` is true for outages worth retrying later (network errors, 5xx).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class PreflightError(Error):
    """A check before contacting the CA failed (CAA record, missing DNS record, ...)."""
