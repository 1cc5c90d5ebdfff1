"""Pick and build the CA backend named by CERTDESK_CA."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.ca.base import CABackend
from bot.ca.metered import MeteredCA
from bot.config import Settings
from bot.crypto import Custody
from storage.ca_state import DatabaseStateStore


def build_ca(settings: Settings, *, sessions: sessionmaker[Session], custody: Custody) -> CABackend:
    """The configured backend, keeping its state in the database, with its calls metered."""
    return MeteredCA(_build(settings, sessions=sessions, custody=custody))


def _build(settings: Settings, *, sessions: sessionmaker[Session], custody: Custody) -> CABackend:
    # Each backend is imported only when it is the one chosen: the ACME and Alibaba Cloud
    # SDKs cost start-up time and idle memory that deployments on another CA need not pay.
    if settings.ca == "simulated":
        from bot.ca.simulated import SimulatedCA

        return SimulatedCA(
            data_dir=settings.data_dir,
            public_url=settings.public_url,
            store=DatabaseStateStore(sessions, "simulated"),
            review_delay=settings.sim_review_delay,
            verification_window=settings.verification_window,
        )
    if settings.ca == "acme":
        from bot.ca.acme_setup import build_acme

        return build_acme(settings, sessions=sessions, custody=custody)
    if settings.ca == "aliyun":
        from bot.ca.aliyun import AliyunBackend, Transport

        # Settings.load refuses CERTDESK_CA=aliyun without both halves of the AccessKey.
        assert settings.aliyun_access_key_id and settings.aliyun_access_key_secret
        transport = Transport(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            endpoint=settings.aliyun_endpoint,
            region=settings.aliyun_region,
        )
        return AliyunBackend(transport, store=DatabaseStateStore(sessions, "aliyun"))
    raise ValueError(f"unknown CA backend {settings.ca!r}")
