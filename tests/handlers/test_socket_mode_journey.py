"""The journey through `certdesk serve --socket`: a real process, Slack's requests over a WebSocket.

register → complete → submit → the CA's email → its link followed over certdesk's HTTP →
issued → the chain file in the DM; and the same process riding out Slack dropping the socket.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.app_fixtures import ALICE, certdesk_env, wait_for
from support.forms import GOOD_DV
from support.journeys import open_complete, register
from support.replicas import Proc

from bot import crypto
from bot.ca.simulated import mailer
from bot.demo import browser
from bot.devtools.ports import free_port
from bot.emulator import Emulator, SocketSlackSide
from storage import db, queries
from storage.models import Order


@dataclass
class SocketDesk:
    """`certdesk serve --socket` running, and people using it through the emulator's socket."""

    url: str
    data_dir: Path
    emulator: Emulator
    slack: SocketSlackSide

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def order(self, order_id: int) -> Order:
        """The order as the running process stored it (read from its SQLite file)."""
        engine = db.make_engine(f"sqlite:///{self.data_dir / 'certdesk.sqlite3'}")
        try:
            with db.session_factory(engine).begin() as session:
                order = queries.get_order(session, order_id)
                assert order is not None
                session.expunge(order)
                return order
        finally:
            engine.dispose()


@pytest.fixture
def serve_socket(emulator: Emulator, tmp_path: Path) -> Iterator[Callable[..., SocketDesk]]:
    """Start `certdesk serve --socket` (extra CLI flags as arguments) against the emulator."""
    started: list[Proc] = []

    def start(*flags: str) -> SocketDesk:
        port = free_port()
        data_dir = tmp_path / "data"
        env = certdesk_env(emulator, data_dir)
        env.update(
            SLACK_APP_TOKEN=emulator.app_token,
            CERTDESK_PUBLIC_URL=f"http://127.0.0.1:{port}",
            CERTDESK_SIM_REVIEW_DELAY="1s",
            CERTDESK_POLL_INTERVAL="1s",
            CERTDESK_TICK="1s",
        )
        del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none: nothing arrives over HTTP
        args = ["serve", "--socket", "--host", "127.0.0.1", "--port", str(port), *flags]
        serve = Proc(name=f"serve{len(started)}", args=args, env=env, logs=tmp_path).start()
        started.append(serve)
        desk = SocketDesk(
            url=f"http://127.0.0.1:{port}",
            data_dir=data_dir,
            emulator=emulator,
            slack=SocketSlackSide(emulator, emulator.socket_mode),
        )

        def ready() -> bool:
            if not serve.alive():
                return True
            try:
                return desk.health()[0] == 200
            except OSError:
                return False

        wait_for(ready, timeout=30, what="certdesk serve --socket to be healthy")
        assert serve.alive(), serve.output()
        return desk

    yield start
    overstayed: list[AssertionError] = []
    for serve in started:
        try:
            serve.terminate(timeout=10)
        except AssertionError as error:  # the others are still stopped
            overstayed.append(error)
        print(serve.output())  # shown when the test failed
    if overstayed:
        raise overstayed[0]


def confirm_latest_link(desk: SocketDesk, ca_ref: str) -> None:
    """Press Confirm behind the link in the newest verification email, as the applicant would."""
    mail_dir = desk.data_dir / "mail"
    for _ in range(3):
        links = wait_for(
            lambda: mailer.verification_links(mail_dir, ca_ref=ca_ref),
            what="the verification email",
        )
        assert links[-1].startswith(f"{desk.url}/sim-ca/verify/")
        page = browser.open_page(links[-1], timeout=5)
        if page.status == 200:
            confirmed = browser.press_button(page, timeout=5)
            assert confirmed.status == 200 and "confirmed" in confirmed.text
            return
        # A newer email replaced this one (410): open the newest, as a person would.
        assert page.status == 410 and "newer verification email" in page.text
    raise AssertionError("every verification link was replaced before it could be confirmed")


def test_the_journey_over_socket_mode(serve_socket: Callable[..., SocketDesk]) -> None:
    desk = serve_socket()
    emu = desk.emulator
    assert desk.health() == (200, {"ok": True, "socket": "connected"})
    refused = urllib.request.Request(f"{desk.url}/slack/events", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as not_here:
        urllib.request.urlopen(refused, timeout=5)
    assert not_here.value.code == 404
    # Register, complete and submit, as Alice in Slack: every request over the WebSocket.
    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    open_complete(desk, ALICE, ref)
    assert desk.slack.submit_view(ALICE, GOOD_DV).json()["response_action"] == "push"
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    wait_for(
        lambda: [m for m in emu.dms_to(ALICE) if "submitted to the CA" in m.text],
        what="the submission DM",
    )
    assert {e["type"] for e in emu.socket_mode.envelopes} == {"slash_commands", "interactive"}
    # The CA reviews, then emails the applicant mailbox a link to certdesk's own pages.
    ca_ref = wait_for(lambda: desk.order(order_id).ca_ref, what="the CA's reference")
    wait_for(
        lambda: desk.order(order_id).state == "awaiting_verification",
        timeout=15,
        what="the CA to ask for verification",
    )
    confirm_latest_link(desk, ca_ref)
    # The scheduler's poll notices; the certificate is issued and delivered in the DM.
    issued = wait_for(
        lambda: [m for m in emu.dms_to(ALICE) if "is issued" in m.text],
        timeout=20,
        what="the issued DM",
    )
    chain_files = wait_for(
        lambda: [
            f
            for f in emu.files
            if f.filename == f"{ref.lower()}.fullchain.pem" and f.uploaded and f.channels
        ],
        what="the chain file in the DM",
    )
    order = desk.order(order_id)
    assert order.state == "issued" and order.certificate_pem
    chain = order.certificate_pem.encode()
    assert len(chain_files) == 1 and chain_files[0].content == chain
    assert chain_files[0].channels == [emu.dm_channel(ALICE)]
    info = crypto.describe_certificate(chain)
    assert info.sha256_fingerprint in issued[0].text
    assert crypto.load_csr(order.csr_pem.encode()).public_key_sha256 == info.public_key_sha256
    # One connection served the whole journey.
    assert len(emu.calls_to("apps.connections.open")) == 1


def test_certdesk_reconnects_when_slack_drops_the_socket(
    serve_socket: Callable[..., SocketDesk],
) -> None:
    desk = serve_socket("--no-scheduler")
    emu, hub = desk.emulator, desk.emulator.socket_mode
    ref = register(desk, ALICE)
    # Slack asks for a refresh: certdesk opens a new URL, then lets the old socket go.
    greeted = hub.hellos
    assert hub.drop("disconnect") == 1
    hub.wait_for_link(newer_than=greeted)
    # At once on the new socket: views.open must beat the trigger's 3 s (see SocketLink._greeted).
    open_complete(desk, ALICE, ref)
    assert desk.slack.submit_view(ALICE, GOOD_DV).json()["response_action"] == "push"
    # Slack closes the socket outright, mid-modal: certdesk reconnects and the modal carries on.
    greeted = hub.hellos
    assert hub.drop("close") == 1
    hub.wait_for_link(newer_than=greeted, timeout=5)
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    wait_for(
        lambda: [m for m in emu.dms_to(ALICE) if "submitted to the CA" in m.text],
        what="the submission DM",
    )
    # The TCP connection dies with no closing handshake (a proxy timing out, say).
    greeted = hub.hellos
    assert hub.drop("abort") == 1
    hub.wait_for_link(newer_than=greeted, timeout=5)
    listed = desk.slack.slash_command(ALICE, "list").json()
    assert listed is not None and ref in listed["text"]
    assert [c.ok for c in emu.calls_to("apps.connections.open")] == [True] * 4
    assert desk.health()[1]["socket"] == "connected"
