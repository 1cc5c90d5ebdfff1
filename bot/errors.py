"""One flat hierarchy of errors, each worded for the person who must act on it."""

from __future__ import annotations


class Error(Exception):
    """Base of every error certdesk raises on purpose; its message is shown to people.

    ``markup`` is True for errors whose message holds only certdesk's own words, order IDs and
    Slack ids (so a ``<@U…>`` in it is a mention on purpose); any other message may quote
    what a person or a CA wrote, and is shown with Slack markup made inert.
    """

    markup = False


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

    markup = True


class IllegalTransition(Error):
    """The order is not in a state where this step is possible."""


class AlreadyDecided(IllegalTransition):
    """Someone already decided on the approval request (or it ended): a late click."""

    markup = True  # certdesk's words, an order ID, a Slack user id and a time


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


class DNSUnreachable(PreflightError):
    """The DNS resolver did not answer in time: nothing was learnt, and asking later may work."""


class SlackError(Error):
    """Slack refused or did not answer a call certdesk made outside a request's listener.

    ``retryable``: an outage or rate limit; the same call may work later (after
    ``retry_after`` seconds, when Slack said). ``maybe_delivered``: the call may have taken
    effect although it failed (a 5xx or a dropped connection after the request was sent).
    ``code`` is Slack's error code (``not_in_channel``, ``user_not_found``, ...), or "".
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        retryable: bool = False,
        maybe_delivered: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.maybe_delivered = maybe_delivered
        self.retry_after = retry_after
