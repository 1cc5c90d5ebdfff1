"""Stand-ins for the two outside worlds, so use cases are tested without HTTP.

``FakeNotifier`` implements the Notifier port: it records every DM, post, update, upload and
Home it is handed, and a test can make the next calls fail with ``SlackError`` as the Slack
adapter would raise it. ``FakeCA`` implements CABackend and answers what the test scripted.
``FakeDesk`` is certdesk's Services on a real SQLite file with both fakes (the ``fake_desk``
and ``make_fake_desk`` fixtures).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_custody
from bot.application_form import UploadedFile
from bot.background import Background
from bot.ca.base import CABackend, CAState, CAStatus, Submission
from bot.config import Settings
from bot.errors import CAError, SlackError
from bot.ports import Message, Notifier, Tag
from bot.services import Services
from bot.views.messages import Messages
from storage import db

ADMIN = "UADMIN"


@dataclass
class Posted:
    """One message the notifier was handed: where, its ts, what it said and its tag."""

    channel: str
    ts: str
    message: Message
    tag: Tag | None = None


@dataclass
class Upload:
    """One file uploaded into a person's DM."""

    user_id: str
    file_id: str
    filename: str
    content: bytes
    title: str


@dataclass
class _Failure:
    error: SlackError
    target: str | None
    delivered: bool
    times: int


class FakeNotifier(Notifier):
    """Records what certdesk sends; ``fail_next`` makes calls raise SlackError."""

    def __init__(self, *, time_zones: Mapping[str, str] | None = None) -> None:
        """``time_zones`` by user id (others are in UTC); ``groups`` maps a user group to
        its members."""
        self.posted: list[Posted] = []
        self.updates: list[tuple[str, str, Message]] = []
        self.uploads: list[Upload] = []
        self.deleted: list[str] = []
        self.homes: dict[str, list[Mapping[str, Any]]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.time_zones = dict(time_zones or {})
        self.groups: dict[str, list[str]] = {}
        self.calls: list[tuple[str, str]] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)

    # --- scripting -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        code: str = "internal_error",
        retryable: bool = False,
        maybe_delivered: bool = False,
        retry_after: float | None = None,
        to: str | None = None,
        delivered: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (for ``to`` only, if given) raise.

        ``"dm"`` failures for a person also hit ``post`` into their DM channel, so a test
        says "messages to this person fail" whichever route the use case takes.
        ``delivered``: the message is recorded before the error is raised, as when Slack
        acted but its answer was lost (only meaningful with ``maybe_delivered``).
        """
        error = SlackError(
            f"{method} failed: {code}",
            code=code,
            retryable=retryable,
            maybe_delivered=maybe_delivered,
            retry_after=retry_after,
        )
        self._failures.setdefault(method, []).append(_Failure(error, to, delivered, times))

    def _check(self, method: str, target: str, *, record: bool = True) -> _Failure | None:
        if record:
            self.calls.append((method, target))
        for failure in self._failures.get(method, []):
            if failure.target in (None, target) and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    def forget(self) -> None:
        """Forget everything sent so far (what came before the part a test looks at)."""
        self.posted.clear()
        self.updates.clear()
        self.uploads.clear()
        self.deleted.clear()
        self.homes.clear()
        self.calls.clear()

    # --- what a test reads ---------------------------------------------------------------

    def dms_to(self, user_id: str) -> list[Message]:
        """Messages that reached ``user_id``'s DM, oldest first."""
        return [p.message for p in self.posted if p.channel == self.dm_channel_of(user_id)]

    def posts_in(self, channel: str) -> list[Message]:
        """Messages that reached ``channel``, oldest first."""
        return [p.message for p in self.posted if p.channel == channel]

    def uploads_to(self, user_id: str, *, suffix: str = "") -> list[Upload]:
        """Files uploaded into ``user_id``'s DM whose name ends with ``suffix``."""
        return [u for u in self.uploads if u.user_id == user_id and u.filename.endswith(suffix)]

    @staticmethod
    def dm_channel_of(user_id: str) -> str:
        """The DM channel id this fake gives ``user_id``."""
        return f"D{user_id}"

    # --- the port ------------------------------------------------------------------------

    def dm_channel(self, user_id: str) -> str:
        if failure := self._check("dm_channel", user_id):
            raise failure.error
        return self.dm_channel_of(user_id)

    def dm(self, user_id: str, message: Message, *, tag: Tag | None = None) -> tuple[str, str]:
        failure = self._check("dm", user_id)
        if failure and not failure.delivered:
            raise failure.error
        channel = self.dm_channel_of(user_id)
        ts = self._record(channel, message, tag)
        if failure:
            raise failure.error
        return channel, ts

    def post(self, channel: str, message: Message, *, tag: Tag | None = None) -> str:
        # A message into a person's DM is a DM, whichever method the use case chose.
        user = channel.removeprefix("D") if channel.startswith("D") else None
        failure = (
            self._check("post", channel) or (user and self._check("dm", user, record=False)) or None
        )
        if failure and not failure.delivered:
            raise failure.error
        ts = self._record(channel, message, tag)
        if failure:
            raise failure.error
        return ts

    def update(self, channel: str, ts: str, message: Message) -> None:
        if failure := self._check("update", channel):
            raise failure.error
        self.updates.append((channel, ts, message))

    def find_tagged(self, channel: str, tag: Tag) -> str | None:
        if failure := self._check("find_tagged", channel):
            raise failure.error
        found = [p.ts for p in self.posted if p.channel == channel and p.tag == tag]
        return found[-1] if found else None

    def upload_to_dm(
        self, user_id: str, *, filename: str, content: bytes, title: str
    ) -> tuple[str, str]:
        if failure := self._check("upload_to_dm", user_id):
            raise failure.error
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads.append(Upload(user_id, file_id, filename, content, title))
        return self.dm_channel_of(user_id), file_id

    def find_file(self, channel: str, filename: str, *, since: datetime) -> str | None:
        # Uploads carry no time here: every upload of that name in the DM counts.
        if failure := self._check("find_file", channel):
            raise failure.error
        found = [
            u.file_id
            for u in self.uploads
            if self.dm_channel_of(u.user_id) == channel and u.filename == filename
        ]
        return found[-1] if found else None

    def delete_file(self, file_id: str) -> bool:
        if failure := self._check("delete_file", file_id):
            raise failure.error
        gone = file_id in self.deleted
        self.deleted.append(file_id)
        return not gone

    def time_zone(self, user_id: str) -> str:
        if failure := self._check("time_zone", user_id):
            raise failure.error
        return self.time_zones.get(user_id, "UTC")

    def group_members(self, group_id: str) -> list[str]:
        if failure := self._check("group_members", group_id):
            raise failure.error
        return list(self.groups.get(group_id, []))

    def publish_home(self, user_id: str, view: Mapping[str, Any]) -> None:
        if failure := self._check("publish_home", user_id):
            raise failure.error
        self.homes.setdefault(user_id, []).append(view)

    def download(self, file: Mapping[str, Any]) -> UploadedFile:
        if failure := self._check("download", str(file.get("id", ""))):
            raise failure.error
        return self.files[str(file["id"])]

    def _record(self, channel: str, message: Message, tag: Tag | None) -> str:
        ts = f"1700000000.{next(self._ts):06d}"
        self.posted.append(Posted(channel, ts, message, tag))
        return ts


class FakeCA(CABackend):
    """A CA that answers as the test scripts it, and remembers every call.

    ``answers[ca_ref]`` is a list of what successive ``status`` calls return (a CAStatus) or
    raise (a CAError); the last one is repeated. ``certificates[ca_ref]`` is the chain that
    ``fetch_certificate`` hands over (or a CAError it raises).
    """

    name = "fake"
    caa_identities = ("fake.invalid",)

    def __init__(self, *, emails_applicant: bool = True) -> None:
        self.emails_applicant = emails_applicant
        self.answers: dict[str, list[CAStatus | CAError]] = {}
        self.certificates: dict[str, bytes | CAError] = {}
        self.submitted: list[Submission] = []
        self.calls: list[tuple[str, str]] = []

    def script(self, ca_ref: str, *answers: CAStatus | CAError | CAState) -> None:
        """What ``status(ca_ref)`` answers from now on, one call after another."""
        self.answers[ca_ref] = [CAStatus(a) if isinstance(a, CAState) else a for a in answers]

    def submit(self, submission: Submission) -> str:
        self.calls.append(("submit", submission.order_ref))
        self.submitted.append(submission)
        return f"FAKE-{len(self.submitted)}"

    def status(self, ca_ref: str) -> CAStatus:
        self.calls.append(("status", ca_ref))
        queue = self.answers.get(ca_ref)
        if not queue:
            raise CAError(f"the fake CA has no script for {ca_ref}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, CAError):
            raise answer
        return answer

    def resend_verification(self, ca_ref: str) -> None:
        self.calls.append(("resend_verification", ca_ref))

    def cancel(self, ca_ref: str) -> None:
        self.calls.append(("cancel", ca_ref))

    def fetch_certificate(self, ca_ref: str) -> bytes:
        self.calls.append(("fetch_certificate", ca_ref))
        chain = self.certificates.get(ca_ref)
        if chain is None:
            raise CAError(f"the fake CA has no certificate for {ca_ref}", retryable=True)
        if isinstance(chain, CAError):
            raise chain
        return chain


@dataclass
class FakeDesk:
    """certdesk's services on a real SQLite file, with the fake notifier and fake CA."""

    services: Services
    notifier: FakeNotifier
    ca: FakeCA

    def close(self) -> None:
        """Stop the background threads and close the database."""
        self.services.background.shutdown()
        self.services.engine.dispose()


def fake_settings(data_dir: Path, **extra: str) -> Settings:
    """Settings for a unit test: no Slack credentials, any working hours, one admin."""
    env = {
        "CERTDESK_DATA_DIR": str(data_dir),
        "CERTDESK_ADMINS": ADMIN,
        "CERTDESK_WORKING_HOURS": "any",
    }
    env.update(extra)
    return Settings.load(env)


def build_fake_desk(data_dir: Path, *, template: Path | None = None, **extra: str) -> FakeDesk:
    """Services on a migrated SQLite file in ``data_dir``, talking to the fakes.

    ``template``: an already migrated database file to start from (a copy is quicker than
    running every migration again).
    """
    settings = fake_settings(data_dir, **extra)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if template is not None:
        shutil.copyfile(template, settings.data_dir / "certdesk.sqlite3")
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    notifier, ca = FakeNotifier(), FakeCA()
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        notifier=notifier,
        presenter=Messages(),
        background=Background(workers=1),
        custody=build_custody(settings, sessions=sessions),
        ca=ca,
    )
    return FakeDesk(services=services, notifier=notifier, ca=ca)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest schema, copied by each FakeDesk."""
    path = tmp_path_factory.mktemp("template") / "certdesk.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def make_fake_desk(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Callable[..., FakeDesk]]:
    """Build a FakeDesk with extra settings: ``make_fake_desk(CERTDESK_NOTIFY_CHANNEL="C1")``."""
    built: list[FakeDesk] = []

    def make(**extra: str) -> FakeDesk:
        desk = build_fake_desk(tmp_path / f"desk{len(built)}", template=migrated_sqlite, **extra)
        built.append(desk)
        return desk

    yield make
    for desk in built:
        desk.close()


@pytest.fixture
def fake_desk(make_fake_desk: Callable[..., FakeDesk]) -> FakeDesk:
    """A FakeDesk with default settings (no team channel)."""
    return make_fake_desk()
