"""Faults at random for the emulated Web API: a seeded share of calls fails, some answers lost."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Chaos:
    """A share ``rate`` of calls (to ``methods``; None: every method) answered 429, 500 or 503
    before acting, and a share ``lose`` of the calls that went through answered 500 after
    acting (the answer lost). Drawn from a seeded ``random.Random``, so a run repeats."""

    rate: float
    lose: float
    methods: frozenset[str] | None
    random: random.Random
    #: What was injected, by "method status" ("method lost": an answer lost after acting).
    injected: Counter[str] = field(default_factory=Counter)

    def failure(self, method: str) -> tuple[int, int] | None:
        """(HTTP status, Retry-After) for this call, or None to let it through."""
        if not self._applies(method) or self.random.random() >= self.rate:
            return None
        status = self.random.choice((429, 500, 503))
        self.injected[f"{method} {status}"] += 1
        return status, 0  # Retry-After: 0 keeps slack_sdk's wait short

    def lost_answer(self, method: str) -> bool:
        """Whether this call, which took effect, answers 500 all the same."""
        if not self._applies(method) or self.random.random() >= self.lose:
            return False
        self.injected[f"{method} lost"] += 1
        return True

    def _applies(self, method: str) -> bool:
        return self.methods is None or method in self.methods
