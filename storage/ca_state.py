"""The database-backed StateStore that CA backends keep their per-order memory in."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.ca.base import StateStore
from storage.models import CARecord


class DatabaseStateStore(StateStore):
    """One row per (backend, ref) in `ca_records`; each call is its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], backend: str) -> None:
        self._sessions = sessions
        self._backend = backend

    def load(self, ref: str) -> dict | None:
        with self._sessions.begin() as session:
            row = session.get(CARecord, (self._backend, ref))
            return dict(row.data) if row else None

    def save(self, ref: str, data: dict) -> None:
        with self._sessions.begin() as session:
            row = session.get(CARecord, (self._backend, ref))
            if row is None:
                session.add(CARecord(backend=self._backend, ref=ref, data=dict(data)))
            else:
                row.data = dict(data)
