"""The embedded ``simulated`` CA backend: review, email verification, a local root (see backend)."""

from bot.ca.simulated.backend import SimulatedCA

__all__ = ["SimulatedCA"]
