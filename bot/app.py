"""Build certdesk from Settings: the one place that wires the database, Slack, the CA and Bolt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App, BoltContext
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import handlers
from bot import keys_rotation, private_files, quick, request_context, teams
from bot.background import Background
from bot.ca.factory import build_ca
from bot.config import Settings
from bot.crypto import Custody
from bot.errors import ConfigError
from bot.orders import workspaces
from bot.ports import Notifier
from bot.services import Services
from bot.slack import SlackNotifier
from bot.slack_metrics import CountingHandler
from bot.views.messages import Messages
from handlers import workspace as workspace_events
from storage import db

logger = logging.getLogger(__name__)


def slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient for SLACK_API_URL that retries connection errors, 429s and 5xx answers.

    For work after the ack (DMs, uploads, jobs), where waiting out a Retry-After is right.
    """
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            CountingHandler(),
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def interactive_client(settings: Settings, token: str | None = None) -> WebClient:
    """The client Bolt hands listeners, for calls made before the ack (views.open).

    A trigger_id lives ~3 s and Slack wants its ack within 3 s, so this client never sleeps
    through a Retry-After: it fails fast, and the person is told to try again.
    """
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=2,
        retry_handlers=[CountingHandler(), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def probe_client(settings: Settings) -> WebClient:
    """The client readiness probes check the token with: short timeout, no retries."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=2,
        retry_handlers=[CountingHandler()],
    )


def tagged_post_client(settings: Settings, token: str | None = None) -> WebClient:
    """For messages posted with a tag (reminders, announcements): retries a 429 only.

    A 5xx or a dropped connection may come after Slack stored the message; a blind retry would
    post it twice, so certdesk looks for the tag in the conversation before posting again.
    """
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[CountingHandler(), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def attachment_client(settings: Settings, token: str | None = None) -> WebClient:
    """For the file look-up made before a modal's ack: fails fast instead of waiting out a 429."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=2,
        retry_handlers=[CountingHandler(), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def db_timeouts(settings: Settings, *, jobs: bool = False) -> db.Timeouts:
    """The engine's timeouts: CERTDESK_DB_TIMEOUT for requests, CERTDESK_DB_JOB_TIMEOUT for jobs."""
    seconds = (settings.db_job_timeout if jobs else settings.db_timeout).total_seconds()
    return db.Timeouts(
        connect=seconds, statement=seconds, checkout=seconds, ping=min(2.0, seconds / 4)
    )


def build_services(
    settings: Settings, *, migrate: bool | None = None, jobs: bool = False
) -> Services:
    """Open the database and the Slack client.

    ``migrate`` defaults to True for the embedded SQLite store only: with PostgreSQL,
    several replicas start at once, so the operator runs `certdesk db upgrade` once and
    every process checks that the schema is current. ``jobs``: a process that only runs
    background jobs (the worker) gets the longer database timeouts.
    """
    if settings.approval and settings.approval_is_off and not settings.oauth:
        # (With many workspaces, each workspace's own admins can approve.)
        logger.warning(
            "CERTDESK_APPROVAL: nobody could approve (neither CERTDESK_APPROVERS nor "
            "CERTDESK_ADMINS is set), so approval is off and orders go straight to the CA"
        )
    try:
        private_files.make_private_dir(settings.data_dir)
    except OSError as exc:
        raise ConfigError(
            f"CERTDESK_DATA_DIR: cannot create {settings.data_dir}: {exc.strerror}"
        ) from None
    private_files.warn_if_loose(settings.data_dir)
    engine = db.make_engine(settings.database_url, timeouts=db_timeouts(settings, jobs=jobs))
    if migrate is None:
        migrate = engine.dialect.name == "sqlite"
    if migrate:
        db.upgrade(engine)
    else:
        _require_current_schema(engine)
    sessions = db.session_factory(engine)
    custody = build_custody(settings, sessions=sessions)
    if migrate:
        # An embedded store is served from one host, by this release only: nothing older
        # reads the tokens, so each process starting on it seals any left plain (a read of one
        # row per workspace when there are none). With replicas the operator seals them once
        # every replica runs this release (`certdesk keys seal-tokens`): an older replica
        # would read a sealed token as the token itself.
        sealed, _ = keys_rotation.seal_tokens(sessions, custody, plain_only=True)
        if sealed:
            logger.info("sealed %d workspace token(s) stored before tokens were sealed", sealed)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        notifier=build_notifier(settings, engine, sessions, custody=custody),
        presenter=Messages(),
        background=Background(),
        custody=custody,
        ca=build_ca(settings, sessions=sessions, custody=custody),
    )


def build_notifier(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], *, custody: Custody
) -> Notifier:
    """One workspace: a notifier on SLACK_BOT_TOKEN. OAuth: one that picks the team's token."""
    if not settings.oauth:
        return SlackNotifier(
            slack_client(settings),
            sessions,
            quick=attachment_client(settings),
            careful=tagged_post_client(settings),
            api_url=settings.slack_api_url,
        )
    assert settings.slack_client_id and settings.slack_client_secret
    # Many workspaces only: slack-sdk's SQLAlchemy stores import its asyncio extension and
    # greenlet (~3 MB resident), which a single-workspace process never needs.
    from bot.slack import workspaces as slack_workspaces

    return slack_workspaces.TeamNotifier(
        slack_workspaces.installation_store(engine, settings.slack_client_id, custody=custody),
        TokenRotator(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            client=slack_client(settings),
        ),
        sessions,
        make_client=lambda token: slack_client(settings, token),
        make_quick=lambda token: attachment_client(settings, token),
        make_careful=lambda token: tagged_post_client(settings, token),
        api_url=settings.slack_api_url,
    )


def _require_current_schema(engine: Engine) -> None:
    current, head = db.current_revision(engine), db.head_revision()
    if current != head:
        raise ConfigError(
            f"DATABASE_URL: the database schema is at {current or 'nothing yet'}, certdesk "
            f"needs {head}: run `certdesk db upgrade` once, then start certdesk"
        )


def build_custody(settings: Settings, *, sessions: sessionmaker[Session] | None = None) -> Custody:
    """Key custody under CERTDESK_MASTER_KEY, or a key file made (mode 0600) on first run.

    Older keys (CERTDESK_PREVIOUS_MASTER_KEYS, or those a rotation leaves beside master.key)
    still open what they sealed. Given ``sessions``, the database is checked first: no new
    key file is made while sealed keys exist, and keys under unknown master keys are logged.
    """
    if sessions is not None:
        return keys_rotation.check_database(settings, sessions).custody()
    return keys_rotation.master_keys(settings).custody()


@dataclass
class Certdesk:
    """The running pieces: services and the Bolt app."""

    services: Services
    app: App


def build_app(services: Services, *, verify_token: bool = True) -> App:
    """The Bolt app with every listener registered.

    ``process_before_response=True``: Bolt otherwise polls for the ack and adds ~10 ms per
    request; listeners ack first and hand slow work to ``services.background``.
    """
    settings = services.settings
    if settings.oauth:
        return _build_oauth_app(services)
    app = App(
        client=interactive_client(settings),
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
        token_verification_enabled=verify_token,
    )
    app.use(request_context.bind_request)
    commands = handlers.register_all(app, services)
    # One workspace: the HTTP edge answers `/cert help`, `list`, `status`… itself (bot.quick).
    quick.install(app, commands)
    return app


class _InstallFlow(OAuthFlow):
    """Bolt's OAuth flow, which also records the install (a reinstall resumes the workspace)."""

    services: Services

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        super().store_installation(request, installation)
        if installation.team_id:
            workspaces.installed(self.services, installation.team_id, by=installation.user_id)


def authorize_url(api_url: str) -> str:
    """Slack's consent page beside its Web API (https://slack.com/oauth/v2/authorize)."""
    return api_url.rstrip("/").removesuffix("/api") + "/oauth/v2/authorize"


def _build_oauth_app(services: Services) -> App:
    """Many workspaces: /slack/install, /slack/oauth_redirect, a token per team from the store."""
    from bot.slack import workspaces as slack_workspaces

    settings = services.settings
    notifier = services.notifier
    assert isinstance(notifier, slack_workspaces.TeamNotifier)
    assert settings.slack_client_id and settings.slack_client_secret
    client = interactive_client(settings)
    flow = _InstallFlow(
        client=client,
        settings=OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(slack_workspaces.SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + "/slack/oauth_redirect",
            authorization_url=authorize_url(settings.slack_api_url),
            installation_store=notifier.store,
            state_store=slack_workspaces.state_store(services.engine),
            token_rotation_expiration_minutes=slack_workspaces.ROTATE_MINUTES,
        ),
    )
    flow.services = services
    # The store goes to App as well: otherwise Bolt's token rotation on requests uses a
    # client of its own, pointed at slack.com.
    app = _WorkspaceApp(
        client=client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
        installation_store=notifier.store,
        oauth_flow=flow,
    )
    app.middleware(_serve_team)
    app.use(request_context.bind_request)
    handlers.register_all(app, services)
    workspace_events.register(app, services)
    return app


def _serve_team(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
    """Act for the request's workspace: the Notifier and order look-ups follow it."""
    teams.enter(context.team_id)
    return next()


class _WorkspaceApp(App):
    """A Bolt app whose requests each act for their own workspace (see ``_serve_team``)."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        with teams.acting_for(None):
            return super().dispatch(req)


def create(settings: Settings, *, verify_token: bool = True) -> Certdesk:
    """Services and app, ready to serve."""
    services = build_services(settings)
    return Certdesk(services=services, app=build_app(services, verify_token=verify_token))
