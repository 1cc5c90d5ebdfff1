"""Helpers for tests that take orders through the CA: submit, a controllable clock, certificates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from bot.ca.simulated import mailer
from bot.orders import complete
from bot.orders.register import register_order
from bot.orders.submission import send_to_ca
from bot.products import Purchase
from bot.services import Services
from bot.views import ids
from storage import queries
from storage.models import Order, utcnow

TEAM = "T0001"


@dataclass
class Clock:
    """A clock tests move by hand; given to the simulated CA and to the jobs as ``now``."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta) -> datetime:
        self.now += span
        return self.now


def application(domains: tuple[str, ...], *, email: str = "admin@example.com") -> dict[str, str]:
    """A valid DV application, as the Complete modal's values."""
    return {
        ids.DOMAINS: "\n".join(domains),
        ids.APPLICANT_NAME: "Alice Example",
        ids.APPLICANT_EMAIL: email,
        ids.APPLICANT_PHONE: "+44 20 7946 0958",
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "p256",
    }


def submitted_order(
    services: Services,
    user: str,
    *,
    domains: tuple[str, ...] = ("example.com", "www.example.com"),
    send: bool = True,
) -> int:
    """Register, complete and submit a DV order as ``user`` (and send it to the CA)."""
    purchase = Purchase(
        product="dv", domain_type="multi", domain_count=len(domains), validity_days=90
    )
    # No "registered" DM: these tests look at what follows (journeys.register sees it).
    order = register_order(services, team_id=TEAM, user_id=user, purchase=purchase, tell=False)
    complete.check_and_save(services, order.id, user_id=user, raw=application(domains))
    complete.submit(services, order.id, user_id=user)
    if send:
        assert send_to_ca(services, order.id)
    return order.id


def load_order(services: Services, order_id: int) -> Order:
    """The order as stored now."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order


def actions(services: Services, order_id: int) -> list[str]:
    """The order's audit trail, as action names."""
    with services.sessions.begin() as session:
        return [e.action for e in queries.audit_trail(session, order_id)]


def latest_link(services: Services, ca_ref: str) -> str:
    """The link in the newest verification email for ``ca_ref``."""
    links = mailer.verification_links(Path(services.settings.data_dir) / "mail", ca_ref=ca_ref)
    assert links, f"no verification email for {ca_ref}"
    return links[-1]


def verify_chain(chain_pem: bytes, *, root_pem: bytes, name: str, at: datetime) -> None:
    """Verify a served chain (leaf first) up to ``root_pem`` for ``name``, as a TLS client would."""
    certs = x509.load_pem_x509_certificates(chain_pem)
    root = x509.load_pem_x509_certificate(root_pem)
    verifier = (
        PolicyBuilder().store(Store([root])).time(at).build_server_verifier(x509.DNSName(name))
    )
    verifier.verify(certs[0], certs[1:])
