"""Many workspaces (OAuth): installed through Slack's flow, each served with its own token.

Two workspaces install certdesk through /slack/install and /slack/oauth_redirect against the
emulator; each registers an order; neither sees the other's; each one's reminders go out with
its own (rotated) token; uninstalling one pauses it and leaves the other working.
"""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from support.app_fixtures import ADMIN, Running
from support.forms import GOOD_DV
from support.journeys import complete_and_submit, open_complete, order_state, register

from bot import cli, logs, workflow
from bot.emulator import Emulator
from bot.emulator.model import Call
from bot.orders.reminding import send_due, start_verification
from bot.orders.workspaces import uninstalled
from bot.views import ids
from storage import queries
from storage import workspaces as storage_workspaces
from storage.models import AuditEvent, CARecord, Delivery, Order, Workspace, utcnow

TEAM_A, TEAM_B = "TAAAA0001", "TBBBB0002"
ANN, BEN = "UANN", "UBEN"  # Ann is in workspace A, Ben in B


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _get(url: str, *, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:  # a 302 arrives here without a redirect handler
        return exc.code, dict(exc.headers), exc.read().decode()


def install(certdesk: Running, *, team: str, user: str) -> None:
    """A person of ``team`` follows certdesk's install link and approves on Slack's page."""
    status, headers, page = _get(f"{certdesk.http.url}/slack/install")
    assert status == 200, page
    cookie = headers["Set-Cookie"].split(";")[0]  # the OAuth state, checked on the way back
    link = html.unescape(re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page).group(1))
    status, headers, _ = _get(f"{link}&team={team}&user={user}")
    assert status == 302
    status, _, page = _get(headers["Location"], cookie=cookie)
    assert status == 200, page


@pytest.fixture
def oauth(emulator: Emulator, start_certdesk: Callable[..., Running]) -> Running:
    emulator.add_user(ANN, name="ann", tz="Europe/London", team_id=TEAM_A)
    emulator.add_user(BEN, name="ben", tz="Europe/London", team_id=TEAM_B)
    return start_certdesk(
        SLACK_BOT_TOKEN="",  # OAuth mode: no single token
        SLACK_CLIENT_ID=emulator.installs.client_id,
        SLACK_CLIENT_SECRET=emulator.installs.client_secret,
    )


def calls_by(emulator: Emulator, method: str, tokens: set[str]) -> list[Call]:
    return [c for c in emulator.calls_to(method) if c.token in tokens]


def reminders_to(emulator: Emulator, user: str) -> list:
    """Reminder DMs (tagged with a reminder id; announcements carry other tags)."""
    return [
        m
        for m in emulator.dms_to(user)
        if m.metadata and "reminder_id" in (m.metadata.get("event_payload") or {})
    ]


def waiting_for_verification(certdesk: Running, ref: str) -> None:
    """The CA asks for domain validation: the verification reminders start now."""
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        order.state = workflow.State.AWAITING_VERIFICATION
        order.verification_started_at = utcnow() - timedelta(hours=2)
        start_verification(session, order, now=order.verification_started_at)


def sweep(certdesk: Running, *, hours: float) -> int:
    """One reminder sweep as the scheduler runs it: no request, no workspace given."""
    later = utcnow() + timedelta(hours=hours)
    return send_due(certdesk.services, worker_id="test", now=later)


def test_two_workspaces_installed_apart_rotated_and_one_uninstalled(
    oauth: Running, emulator: Emulator
) -> None:
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    # Workspace B's token expires within the refresh margin: it is rotated on first use.
    emulator.installs.token_ttl = 3600
    install(certdesk, team=TEAM_B, user=BEN)
    emulator.installs.token_ttl = 12 * 3600
    (token_a,) = emulator.installs.tokens_of(TEAM_A)
    (first_b,) = emulator.installs.tokens_of(TEAM_B)
    with certdesk.services.sessions.begin() as session:
        assert {w.team_id for w in session.query(Workspace).filter(Workspace.active)} == {
            TEAM_A,
            TEAM_B,
        }

    ref_a, ref_b = register(certdesk, ANN), register(certdesk, BEN)
    for user, ref in ((ANN, ref_a), (BEN, ref_b)):
        complete_and_submit(certdesk, user, ref)
    certdesk.settle()
    tokens_b = set(emulator.installs.tokens_of(TEAM_B)) - {first_b}
    assert tokens_b and tokens_b <= emulator.installs.rotated, "B's token was rotated"
    # Each workspace's DMs went out with its own token, and B's only with the rotated one.
    dms_a = [c for c in emulator.calls_to("chat.postMessage") if c.args["channel"] in
             {emulator.dm_channel(ANN)}]  # fmt: skip
    assert dms_a and {c.token for c in dms_a} == {token_a}
    assert not calls_by(emulator, "chat.postMessage", {first_b})
    assert calls_by(emulator, "chat.postMessage", tokens_b)

    # Each sees only their own: list, status, and a replayed command with the other's ID.
    listing = certdesk.slack.slash_command(BEN, "list").json()
    assert ref_b in str(listing) and ref_a not in str(listing)
    refused = certdesk.slack.slash_command(BEN, f"cancel {ref_a}")
    assert f"There is no order {ref_a}" in refused.body
    assert ref_a not in str(certdesk.slack.slash_command(BEN, f"status {ref_a}").json()).replace(
        f"There is no order {ref_a}", ""
    )
    certdesk.slack.app_home_opened(BEN)
    certdesk.settle()
    home = str(emulator.home_view(BEN))
    assert ref_b in home and ref_a not in home

    # A reminder for each, with that workspace's token.
    waiting_for_verification(certdesk, ref_a)
    waiting_for_verification(certdesk, ref_b)
    assert sweep(certdesk, hours=0) >= 2
    (reminder_a,) = reminders_to(emulator, ANN)
    (reminder_b,) = reminders_to(emulator, BEN)
    posts = {c.args.get("channel"): c.token for c in emulator.calls_to("chat.postMessage")
             if "reminder_id" in str(c.args.get("metadata"))}  # fmt: skip
    assert posts[reminder_a.channel] == token_a
    assert posts[reminder_b.channel] in tokens_b

    # Workspace A uninstalls: its tokens go, its reminders stop; B goes on.
    assert certdesk.slack.app_uninstalled(TEAM_A).status == 200
    with certdesk.services.sessions.begin() as session:
        workspace = session.get(Workspace, TEAM_A)
        assert workspace is not None and not workspace.active
        kept = session.get(Order, int(ref_a[3:]))
        assert kept is not None and kept.private_key is not None  # orders and keys stay
    assert (
        certdesk.services.notifier.store.find_installation(  # type: ignore[attr-defined]
            enterprise_id=None, team_id=TEAM_A
        )
        is None
    )
    calls_before = len(emulator.calls)
    sweep(certdesk, hours=6)
    assert len(reminders_to(emulator, ANN)) == 1
    assert len(reminders_to(emulator, BEN)) == 2
    assert not [c for c in emulator.calls[calls_before:] if c.error == "invalid_auth"]

    # Installing again resumes A's reminders.
    install(certdesk, team=TEAM_A, user=ANN)
    sweep(certdesk, hours=6)
    assert len(reminders_to(emulator, ANN)) == 2


def test_purge_deletes_one_uninstalled_workspace_after_typed_confirmation(
    oauth: Running,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    install(certdesk, team=TEAM_B, user=BEN)
    ref_a, ref_b = register(certdesk, ANN), register(certdesk, BEN)
    certdesk.settle()
    monkeypatch.setenv("DATABASE_URL", certdesk.services.settings.database_url)
    monkeypatch.setenv("CERTDESK_DATA_DIR", str(certdesk.services.settings.data_dir))
    answers: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt="": answers.pop(0))

    with certdesk.services.sessions.begin() as session:
        for ref in (ref_a, ref_b):  # as if sent to the CA, which remembers the applicant
            session.get(Order, int(ref[3:])).ca_ref = f"SIM-{ref}"  # type: ignore[union-attr]
            session.add(CARecord(backend="simulated", ref=f"SIM-{ref}", data={"who": ref}))
        for team in (TEAM_A, TEAM_B):  # a report to the workspace's admins, about no order
            session.add(
                Delivery(key=f"t{team}:report", what="notify_channel_refused", medium="dm",
                         team_id=team, user_id=ANN, payload={}, status="given_up", attempts=3,
                         refusals=3, in_doubt=False)
            )  # fmt: skip

    def orders() -> set[str]:
        with certdesk.services.sessions.begin() as session:
            return {o.ref for o in session.query(Order)}

    def ca_records() -> set[str]:
        with certdesk.services.sessions.begin() as session:
            return {r.ref for r in session.query(CARecord)}

    assert cli.main(["workspace", "purge", TEAM_A]) == 1  # still installed: refused
    assert "still has certdesk installed" in capsys.readouterr().err
    certdesk.slack.app_uninstalled(TEAM_A)
    answers.append(TEAM_B)  # a slip of the finger deletes nothing
    assert cli.main(["workspace", "purge", TEAM_A]) == 1
    assert orders() == {ref_a, ref_b}
    answers.append(TEAM_A)
    assert cli.main(["workspace", "purge", TEAM_A]) == 0
    assert "1 orders" in capsys.readouterr().out
    assert orders() == {ref_b}
    assert ca_records() == {f"SIM-{ref_b}"}
    with certdesk.services.sessions.begin() as session:
        assert {d.team_id for d in session.query(Delivery) if d.order_id is None} == {TEAM_B}
    with certdesk.services.sessions.begin() as session:
        assert session.get(Workspace, TEAM_A) is None
        assert session.get(Workspace, TEAM_B) is not None


def test_another_workspaces_order_id_in_a_replayed_payload_changes_nothing(
    oauth: Running, emulator: Emulator
) -> None:
    """Even an admin (CERTDESK_ADMINS spans workspaces) of B cannot reach A's order."""
    certdesk = oauth
    emulator.add_user(ADMIN, name="admin", team_id=TEAM_B)
    install(certdesk, team=TEAM_A, user=ANN)
    install(certdesk, team=TEAM_B, user=BEN)
    ref_a = register(certdesk, ANN)
    order_id = int(ref_a[3:])
    certdesk.settle()
    button = [m for m in emulator.dms_to(ANN) if ids.OPEN_COMPLETE in json.dumps(m.blocks)][-1]
    with certdesk.services.sessions.begin() as session:
        before = session.get(Order, order_id).state  # type: ignore[union-attr]
    for user in (BEN, ADMIN):
        response = certdesk.slack.click(
            user, ids.OPEN_COMPLETE, value=str(order_id), message=button
        )
        assert response.status == 200
        for command in (f"status {ref_a}", f"cancel {ref_a}", f"complete {ref_a}"):
            answer = certdesk.slack.slash_command(user, command)
            assert f"There is no order {ref_a}" in answer.body, (user, command, answer.body)
        certdesk.settle()
        assert emulator.current_view(user) is None  # no modal opened on A's order
        assert all("example" not in m.text for m in emulator.dms_to(user))
    with certdesk.services.sessions.begin() as session:
        assert session.get(Order, order_id).state == before  # type: ignore[union-attr]
    # The refusal went to B's people with B's token; nothing used A's token for them.
    token_a = set(emulator.installs.tokens_of(TEAM_A))
    theirs = {emulator.dm_channel(BEN), emulator.dm_channel(ADMIN)}
    to_them = [c for c in emulator.calls_to("chat.postMessage") if c.args["channel"] in theirs]
    assert to_them and all(c.token not in token_a for c in to_them)


def test_revoked_bot_token_pauses_the_workspace(oauth: Running, emulator: Emulator) -> None:
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    assert certdesk.slack.tokens_revoked(TEAM_A).status == 200
    with certdesk.services.sessions.begin() as session:
        workspace = session.get(Workspace, TEAM_A)
        assert workspace is not None and not workspace.active
    store = certdesk.services.notifier.store  # type: ignore[attr-defined]
    assert store.find_installation(enterprise_id=None, team_id=TEAM_A) is None


def test_installer_is_first_admin_and_admins_are_managed_per_workspace(
    oauth: Running, emulator: Emulator
) -> None:
    certdesk = oauth
    carol, dan = "UCAROLA", "UDANA"
    emulator.add_user(carol, name="carol", team_id=TEAM_A)
    emulator.add_user(dan, name="dan", team_id=TEAM_A)
    install(certdesk, team=TEAM_A, user=ANN)
    install(certdesk, team=TEAM_B, user=BEN)
    ref_a = register(certdesk, ANN)

    def say(user: str, text: str) -> str:
        return certdesk.slack.slash_command(user, text).body

    assert f"admins: <@{ANN}>." in say(ANN, "admin list")
    assert f"admins: <@{BEN}>." in say(BEN, "admin")  # B's installer, B's list
    assert "Only this workspace's certdesk admins" in say(dan, f"admin add {dan}")
    assert f"There is no order {ref_a}" not in say(ANN, f"status {ref_a}")
    assert "don't have access" in say(carol, f"status {ref_a}")
    assert "is now a certdesk admin" in say(ANN, f"admin add <@{carol}|carol>")
    assert ref_a in say(carol, f"status {ref_a}")  # an admin of A sees A's orders
    assert f"There is no order {ref_a}" in say(BEN, f"status {ref_a}")  # B's admin does not
    assert "Name one person" in say(ANN, "admin add @carol")
    assert "no longer" in say(carol, f"admin remove {ANN}")
    assert "last certdesk admin" in say(carol, f"admin remove {carol}")
    with certdesk.services.sessions.begin() as session:
        actions = [
            (e.actor, e.action, e.detail.get("user_id"))
            for e in session.query(AuditEvent).filter(AuditEvent.order_id.is_(None))
            if e.detail.get("team_id") == TEAM_A
        ]
    assert actions == [
        (ANN, "admin_added", ANN),
        (ANN, "admin_added", carol),
        (carol, "admin_removed", ANN),
    ]


def test_confirmation_says_approval_when_only_the_workspace_admins_can_approve(
    emulator: Emulator, start_certdesk: Callable[..., Running]
) -> None:
    # No CERTDESK_ADMINS nor approvers: the workspace's installer is the one who approves.
    emulator.add_user(ANN, name="ann", team_id=TEAM_A)
    amy = "UAMYA"
    emulator.add_user(amy, name="amy", team_id=TEAM_A)
    certdesk = start_certdesk(
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=emulator.installs.client_id,
        SLACK_CLIENT_SECRET=emulator.installs.client_secret,
        CERTDESK_ADMINS="",
        CERTDESK_APPROVAL="dv",
    )
    install(certdesk, team=TEAM_A, user=ANN)
    ref = register(certdesk, amy)
    open_complete(certdesk, amy, ref)
    confirm = certdesk.slack.submit_view(amy, GOOD_DV).json()
    assert confirm["response_action"] == "push"
    # The last look before submitting says what Submit then does: wait for an approver.
    assert "An approver checks this application" in json.dumps(confirm["view"])
    assert certdesk.slack.submit_view(amy, {}).json() == {"response_action": "clear"}
    assert order_state(certdesk, ref) == workflow.State.AWAITING_APPROVAL


def test_one_workspace_mode_keeps_its_admins_in_the_environment(certdesk: Running) -> None:
    answer = certdesk.slack.slash_command(ADMIN, "admin add UBOB").body
    assert "CERTDESK_ADMINS" in answer


def test_workspace_admins_set_their_own_channel_and_approvers(
    oauth: Running, emulator: Emulator
) -> None:
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    install(certdesk, team=TEAM_B, user=BEN)

    def say(user: str, text: str) -> str:
        return certdesk.slack.slash_command(user, text).body

    emulator.add_user("UBOBB", name="bob", team_id=TEAM_B)
    assert "Only this workspace's certdesk admins" in say("UBOBB", "admin channel CNOPE")
    emulator.add_channel("CTEAMB", members=[BEN])
    assert "<#CTEAMB>" in say(BEN, "admin channel <#CTEAMB|certs>")
    assert "<@UCAROL>" in say(BEN, "admin approvers add <@UCAROL>")
    assert "<!subteam^SAPPROVE>" in say(BEN, "admin approvers add <!subteam^SAPPROVE|@ok>")
    assert "none of its own" in say(ANN, "admin channel")  # A is untouched
    services = certdesk.services
    assert services.notify_channel(TEAM_B) == "CTEAMB"
    assert services.notify_channel(TEAM_A) is None
    assert services.approvers(TEAM_B) == {"UCAROL", "SAPPROVE"} and not services.approvers(TEAM_A)
    assert "UCAROL" not in say(BEN, "admin approvers remove UCAROL")
    assert "Name the channel" in say(BEN, "admin channel general")


def test_readiness_checks_slack_without_a_single_token(oauth: Running) -> None:
    status, _, body = _get(f"{oauth.http.url}/readyz")
    assert status == 200, body
    assert json.loads(body)["ok"] is True


def test_requests_of_each_workspace_are_logged_with_their_context(oauth: Running) -> None:
    """Many workspaces: each request's log lines name its team and a request id, as with one."""
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    seen: list[dict[str, str]] = []

    def spy(next: Callable[[], object]) -> object:  # noqa: A002 - Bolt passes it by this name
        seen.append(logs.current())
        return next()

    certdesk.http.certdesk.app.use(spy)
    assert certdesk.slack.slash_command(ANN, "help").status == 200
    assert seen and seen[-1].get("team") == TEAM_A and seen[-1].get("request_id")


def test_an_uninstall_whose_pause_failed_is_handled_when_slack_retries_it(
    oauth: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delivery counts as handled only with the pause: a database failure in between no
    longer turns Slack's retry into a 'duplicate' that leaves the workspace running."""
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    pause = storage_workspaces.uninstalled

    def fails(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE workspaces", {}, Exception("database went away"))

    monkeypatch.setattr(storage_workspaces, "uninstalled", fails)
    with pytest.raises(OperationalError):
        uninstalled(certdesk.services, TEAM_A, why="app_uninstalled", event_id="EvRETRY")
    monkeypatch.setattr(storage_workspaces, "uninstalled", pause)

    def active() -> bool:
        with certdesk.services.sessions.begin() as session:
            return storage_workspaces.is_active(session, TEAM_A)

    assert active(), "nothing changed"
    uninstalled(certdesk.services, TEAM_A, why="app_uninstalled", event_id="EvRETRY")  # the retry
    assert not active()
    install(certdesk, team=TEAM_A, user=ANN)
    uninstalled(certdesk.services, TEAM_A, why="app_uninstalled", event_id="EvRETRY")  # too late
    assert active(), "a retry of a delivery already handled does not pause a reinstall"


def test_a_retried_uninstall_deletes_the_tokens_a_failed_delete_left_behind(
    oauth: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pause is recorded with the delivery, the token delete comes after: when that
    delete fails, Slack's retry of the same delivery deletes them while still paused."""
    certdesk = oauth
    install(certdesk, team=TEAM_A, user=ANN)
    notifier = certdesk.services.notifier
    store = notifier.store  # type: ignore[attr-defined]
    forget = notifier.forget_workspace

    def fails(team_id: str) -> None:
        raise OperationalError("DELETE FROM slack_bots", {}, Exception("database went away"))

    monkeypatch.setattr(notifier, "forget_workspace", fails)
    with pytest.raises(OperationalError):
        uninstalled(certdesk.services, TEAM_A, why="app_uninstalled", event_id="EvFORGET")
    assert store.find_installation(enterprise_id=None, team_id=TEAM_A) is not None, "left"
    monkeypatch.setattr(notifier, "forget_workspace", forget)
    uninstalled(certdesk.services, TEAM_A, why="app_uninstalled", event_id="EvFORGET")  # retry
    assert store.find_installation(enterprise_id=None, team_id=TEAM_A) is None
