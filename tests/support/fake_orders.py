"""Orders for unit tests on a FakeDesk: built through the use cases, then placed at the fake CA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import crypto
from bot.orders.announcements import announce, owe_submission
from bot.orders.watchers import set_watchers, tell_watchers
from storage import queries
from storage.models import utcnow
from support.ca_flow import submitted_order
from support.csrs import issue
from support.fakes import FakeDesk

ALICE, BOB, CAROL = "UALICE", "UBOB", "UCAROL"
DOMAINS = ("example.com", "www.example.com")


@dataclass(frozen=True)
class AtCA:
    """An order the fake CA holds: its id, reference, the CSR's key and its domains."""

    order_id: int
    ca_ref: str
    key_pem: bytes
    domains: tuple[str, ...]

    def chain(self, *, names: Sequence[str] | None = None) -> bytes:
        """A certificate chain for the order's key (covering ``names``, default its domains)."""
        return issue(self.key_pem, list(names or self.domains))[0]


def order_at_ca(
    desk: FakeDesk,
    *,
    user: str = ALICE,
    watchers: Sequence[str] = (),
    domains: tuple[str, ...] = DOMAINS,
    ca_ref: str = "FAKE-1",
    announced: bool = True,
) -> AtCA:
    """A submitted DV order as ``send_to_ca`` leaves it: key and CSR made, the CA's reference
    stored and audited, polled now. The CAA pre-flight and the CA call are left out (they
    are tested with the simulated CA and Pebble).

    ``announced``: the owed submission notice and CSR were sent, as send_to_ca does next; the
    fake notifier then forgets them, so a test sees only what follows. Otherwise they wait in
    the outbox (as after a crash right after the commit).
    """
    services = desk.services
    order_id = submitted_order(services, user, domains=domains, send=False)
    if watchers:
        tell_watchers(
            services, set_watchers(services, order_id, user_id=user, wanted=list(watchers))
        )
    key_pem = crypto.generate_key("p256")
    csr_pem = crypto.make_csr(key_pem, list(domains))
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        order.csr_pem = csr_pem.decode()
        order.ca_name, order.ca_ref = desk.ca.name, ca_ref
        order.next_poll_at = utcnow()
        queries.record(
            session,
            order_id=order_id,
            actor="system",
            action="sent_to_ca",
            ca=desk.ca.name,
            ca_ref=ca_ref,
        )
        # Owed in the same transaction, as send_to_ca does.
        owe_submission(session, services, order, now=utcnow(), notes=(), steps=())
    if announced:
        announce(services, order_id)
        assert services.notifier is desk.notifier and desk.notifier.posted, "announced"
        desk.notifier.forget()
    return AtCA(order_id=order_id, ca_ref=ca_ref, key_pem=key_pem, domains=domains)
