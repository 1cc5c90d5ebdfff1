"""The ``acme`` CA backend (RFC 8555), tested against a real Pebble."""

from bot.ca.acme.backend import AcmeBackend
from bot.ca.acme.transport import generate_account_key

__all__ = ["AcmeBackend", "generate_account_key"]
