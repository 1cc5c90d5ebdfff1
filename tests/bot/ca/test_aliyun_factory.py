"""CERTDESK_CA=aliyun as certdesk builds it: Settings, the factory, state kept in SQLite."""

from __future__ import annotations

from pathlib import Path

from support.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, standin, submission

from bot.ca.aliyun import AliyunBackend
from bot.ca.base import CAState
from bot.ca.factory import build_ca
from bot.ca.metered import MeteredCA
from bot.config import Settings
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key
from storage import db


def test_the_factory_builds_a_backend_that_remembers_in_the_database(tmp_path: Path) -> None:
    with standin(tmp_path / "cas") as cas:
        cas.add_instance("cas_dv-cn-1", "DV", full_domains=1)
        settings = Settings.load(
            {
                "CERTDESK_DATA_DIR": str(tmp_path / "data"),
                "CERTDESK_CA": "aliyun",
                "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                "CERTDESK_ALIYUN_ENDPOINT": cas.endpoint,
            }
        )
        (tmp_path / "data").mkdir()
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        sessions = db.session_factory(engine)
        ca = build_ca(settings, sessions=sessions, custody=None)  # type: ignore[arg-type]
        assert isinstance(ca, MeteredCA) and isinstance(ca.inner, AliyunBackend)
        csr = make_csr(generate_key("p256"), ["example.com"])
        ref = ca.submit(
            submission(purchase_ref="cas_dv-cn-1", domains=("example.com",), csr_pem=csr)
        )
        cas.cas.reject(ref, "Domain ownership could not be confirmed.")
        # A new process (a new backend over the same database) still knows it applied.
        again = build_ca(settings, sessions=sessions, custody=None)  # type: ignore[arg-type]
        failed = again.status(ref)
        assert failed.state == CAState.FAILED
        assert "could not be confirmed" in (failed.reason or "")
        engine.dispose()
