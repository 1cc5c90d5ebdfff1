"""Settings, read once from the environment (and an optional .env file)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from dotenv import dotenv_values

from bot import reminders
from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
CA_BACKENDS = ("simulated", "acme", "aliyun")
DEFAULT_ALIYUN_ENDPOINT = "cas.aliyuncs.com"
DEFAULT_ALIYUN_REGION = "cn-hangzhou"
ACME_CHALLENGES = ("dns-01", "http-01")
LOG_FORMATS = ("text", "json")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Everything certdesk is configured with; built once by ``Settings.load``."""

    # Secrets are kept out of repr (field(repr=False)) so a logged Settings leaks none of them.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    #: OAuth (many workspaces): set instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    data_dir: Path = Path("data")
    database_url: str = ""
    ca: str = "simulated"
    master_key: str | None = field(default=None, repr=False)
    #: Older master keys that may still open stored keys (during a rotation), never sealing.
    previous_master_keys: tuple[str, ...] = field(default=(), repr=False)
    admins: frozenset[str] = frozenset()
    #: Products whose orders an approver must approve before they go to the CA.
    approval: frozenset[str] = frozenset({"ov", "ev"})
    #: Who may approve: Slack user ids, and user groups (S…) whose members may.
    approvers: frozenset[str] = frozenset()
    notify_channel: str | None = None
    public_url: str = "http://localhost:3000"
    poll_interval: timedelta = timedelta(minutes=5)
    #: How often the reminder, expiry and clean-up jobs run.
    tick: timedelta = timedelta(minutes=1)
    reminder_schedule: tuple[timedelta, ...] = (
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=1),
    )
    working_hours: reminders.WorkingHours | None = field(
        default_factory=lambda: reminders.parse_working_hours("09:00-18:00")
    )
    verification_window: timedelta = timedelta(days=30)
    escalate_after: timedelta = timedelta(days=3)
    key_file_ttl: timedelta = timedelta(hours=1)
    sim_review_delay: timedelta = timedelta(minutes=2)
    #: How long a worker's claim on a due row (a reminder, a poll, a delivery) holds before
    #: another worker may take it over: the wait after a worker dies mid-sweep.
    claim_lease: timedelta = timedelta(minutes=5)
    #: How long a frozen scheduler keeps the PostgreSQL scheduler lock before it is handed over.
    leader_ttl: timedelta = timedelta(seconds=30)
    #: How long SIGTERM waits for requests, background work and running jobs to finish.
    shutdown_grace: timedelta = timedelta(seconds=20)
    acme_directory: str | None = None
    acme_ca_bundle: str | None = None
    acme_challenge: str = "dns-01"
    acme_email: str | None = None
    acme_caa_identities: tuple[str, ...] = ()
    dns_resolver: str | None = None
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: str | None = field(default=None, repr=False)
    #: A host name (HTTPS), or http://host:port for a local stand-in.
    aliyun_endpoint: str = DEFAULT_ALIYUN_ENDPOINT
    aliyun_region: str = DEFAULT_ALIYUN_REGION
    log_level: str = "INFO"
    #: "text" (readable lines) or "json" (one object per line, for log collectors).
    log_format: str = "text"
    #: How long a request waits on the database (connect, statement, pool) before giving up.
    db_timeout: timedelta = timedelta(seconds=2)
    #: The same for background jobs and the worker, which nobody waits on.
    db_job_timeout: timedelta = timedelta(seconds=30)

    @property
    def approval_is_off(self) -> bool:
        """Nobody could approve (no approvers, no admins), so no order waits for approval."""
        return not self.approvers and not self.admins

    def needs_approval(self, product: str) -> bool:
        """Whether an order of ``product`` must be approved before it goes to the CA."""
        return product in self.approval and not self.approval_is_off

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = None
    ) -> Settings:
        """Read settings from ``environ`` (default: the process environment and ./.env).

        Raises ConfigError naming the first bad variable and what it expects.
        """
        if environ is None:
            dotenv = dotenv_values(env_file or Path(".env"))
            merged = {k: v for k, v in dotenv.items() if v is not None}
            merged.update(os.environ)
            environ = merged
        env = {k: v.strip() for k, v in environ.items() if v is not None and v.strip() != ""}
        data_dir = Path(env.get("CERTDESK_DATA_DIR", "data")).expanduser().absolute()
        values: dict[str, Any] = {
            "slack_bot_token": _check("SLACK_BOT_TOKEN", env, _token("xoxb-")),
            "slack_signing_secret": env.get("SLACK_SIGNING_SECRET"),
            "slack_app_token": _check("SLACK_APP_TOKEN", env, _token("xapp-")),
            "slack_client_id": _check("SLACK_CLIENT_ID", env, _client_id),
            "slack_client_secret": env.get("SLACK_CLIENT_SECRET"),
            "slack_api_url": _check("SLACK_API_URL", env, _api_url) or DEFAULT_SLACK_API_URL,
            "data_dir": data_dir,
            "database_url": _check("DATABASE_URL", env, _database_url)
            or f"sqlite:///{data_dir / 'certdesk.sqlite3'}",
            "ca": _check("CERTDESK_CA", env, _one_of(CA_BACKENDS)) or "simulated",
            "master_key": env.get("CERTDESK_MASTER_KEY"),
            "previous_master_keys": tuple(_list(env.get("CERTDESK_PREVIOUS_MASTER_KEYS", ""))),
            "admins": _check("CERTDESK_ADMINS", env, _user_ids) or frozenset(),
            "approval": _check("CERTDESK_APPROVAL", env, _approval)
            if "CERTDESK_APPROVAL" in env
            else cls.approval,
            "approvers": _check("CERTDESK_APPROVERS", env, _approvers) or frozenset(),
            "notify_channel": env.get("CERTDESK_NOTIFY_CHANNEL"),
            "public_url": (_check("CERTDESK_PUBLIC_URL", env, _http_url) or cls.public_url),
            "acme_directory": _check("CERTDESK_ACME_DIRECTORY", env, _http_url),
            "acme_ca_bundle": _check("CERTDESK_ACME_CA_BUNDLE", env, _existing_file),
            "acme_challenge": _check("CERTDESK_ACME_CHALLENGE", env, _one_of(ACME_CHALLENGES))
            or "dns-01",
            "acme_email": env.get("CERTDESK_ACME_EMAIL"),
            "acme_caa_identities": tuple(
                _list(env.get("CERTDESK_ACME_CAA_IDENTITIES", "").lower())
            ),
            "dns_resolver": _check("CERTDESK_DNS_RESOLVER", env, _host_port),
            "aliyun_access_key_id": _check("ALIBABA_CLOUD_ACCESS_KEY_ID", env, _access_key_part),
            "aliyun_access_key_secret": _check(
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET", env, _access_key_part
            ),
            "aliyun_endpoint": _check("CERTDESK_ALIYUN_ENDPOINT", env, _aliyun_endpoint)
            or DEFAULT_ALIYUN_ENDPOINT,
            "aliyun_region": _check("CERTDESK_ALIYUN_REGION", env, _region)
            or DEFAULT_ALIYUN_REGION,
            "log_level": _check(
                "LOG_LEVEL",
                env,
                lambda v: _one_of(("DEBUG", "INFO", "WARNING", "ERROR"))(v.upper()),
            )
            or "INFO",
            "log_format": _check("LOG_FORMAT", env, lambda v: _one_of(LOG_FORMATS)(v.lower()))
            or "text",
        }
        durations = {
            "poll_interval": "CERTDESK_POLL_INTERVAL",
            "tick": "CERTDESK_TICK",
            "verification_window": "CERTDESK_VERIFICATION_WINDOW",
            "escalate_after": "CERTDESK_ESCALATE_AFTER",
            "key_file_ttl": "CERTDESK_KEY_FILE_TTL",
            "sim_review_delay": "CERTDESK_SIM_REVIEW_DELAY",
            "claim_lease": "CERTDESK_CLAIM_LEASE",
            "leader_ttl": "CERTDESK_LEADER_TTL",
            "shutdown_grace": "CERTDESK_SHUTDOWN_GRACE",
            "db_timeout": "CERTDESK_DB_TIMEOUT",
            "db_job_timeout": "CERTDESK_DB_JOB_TIMEOUT",
        }
        # Zero means "at once" for these two; for the rest it is a mistake (APScheduler would
        # quietly run a 0 s interval every second).
        may_be_zero = {"escalate_after", "sim_review_delay"}
        for attr, name in durations.items():
            parse = reminders.parse_duration if attr in may_be_zero else _positive_duration
            parsed = _check(name, env, parse)
            if parsed is not None:
                values[attr] = parsed
        schedule = _check("CERTDESK_REMINDER_SCHEDULE", env, reminders.parse_schedule)
        if schedule is not None:
            values["reminder_schedule"] = schedule
        if "CERTDESK_WORKING_HOURS" in env:
            values["working_hours"] = _check(
                "CERTDESK_WORKING_HOURS", env, reminders.parse_working_hours
            )
        if values["ca"] == "acme" and not values["acme_directory"]:
            raise ConfigError(
                "CERTDESK_ACME_DIRECTORY: required when CERTDESK_CA=acme "
                "(the ACME directory URL, e.g. https://acme-staging-v02.api.letsencrypt.org/directory)"
            )
        if values["ca"] == "aliyun":
            for attr, name in (
                ("aliyun_access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
                ("aliyun_access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
            ):
                if not values[attr]:
                    raise ConfigError(
                        f"{name}: required when CERTDESK_CA=aliyun (a RAM user's AccessKey; "
                        "see docs/aliyun.md for the permissions it needs)"
                    )
        _check_oauth(values)
        return cls(**values)

    @property
    def oauth(self) -> bool:
        """Many workspaces: installed through Slack's OAuth flow, a token per workspace."""
        return bool(self.slack_client_id and self.slack_client_secret)

    def require_slack(self, *, socket_mode: bool = False) -> None:
        """Raise ConfigError unless the Slack credentials needed to serve are set."""
        if self.oauth and not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID (Basic Information → "
                "Signing Secret)"
            )
        if self.oauth and socket_mode:
            raise ConfigError(
                "SLACK_CLIENT_ID: OAuth installs need the HTTP endpoints; serve without --socket"
            )
        if self.oauth:
            return
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN: required (the app's bot token, xoxb-…)")
        if socket_mode and not self.slack_app_token:
            raise ConfigError(
                "SLACK_APP_TOKEN: required for Socket Mode (an app-level token, xapp-…)"
            )
        if not socket_mode and not self.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET: required (Basic Information → Signing Secret)")


def _client_id(raw: str) -> str:
    if not re.fullmatch(r"[0-9]+\.[0-9]+", raw):
        raise ValueError(f"“{raw}” is not a Slack client ID (Basic Information → Client ID).")
    return raw


def _check_oauth(values: Mapping[str, Any]) -> None:
    """OAuth needs both halves of the client credentials, and replaces the bot token."""
    client_id, secret = values["slack_client_id"], values["slack_client_secret"]
    if client_id and not secret:
        raise ConfigError("SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID")
    if secret and not client_id:
        raise ConfigError("SLACK_CLIENT_ID: required with SLACK_CLIENT_SECRET")
    if client_id and values["slack_bot_token"]:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not used with SLACK_CLIENT_ID (OAuth keeps a token per "
            "workspace); set one or the other"
        )


def _check(name: str, env: Mapping[str, str], parse: Callable[[str], T]) -> T | None:
    raw = env.get(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _positive_duration(raw: str) -> timedelta:
    parsed = reminders.parse_duration(raw)
    if parsed <= timedelta():
        raise ValueError(f"“{raw}” must be longer than zero, e.g. 30s, 5m or 1h.")
    return parsed


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _user_ids(raw: str) -> frozenset[str]:
    ids = _list(raw)
    wrong = [i for i in ids if not _USER_ID.match(i)]
    if wrong:
        raise ValueError(
            f"expected Slack user IDs like U012AB3CD (profile → ⋮ → Copy member ID); "
            f"got {', '.join(repr(w) for w in wrong)}"
        )
    return frozenset(ids)


_APPROVER = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_PRODUCTS = ("dv", "ov", "ev")


def _approval(raw: str) -> frozenset[str]:
    words = _list(raw.lower())
    if words == ["none"]:
        return frozenset()
    if words == ["all"]:
        return frozenset(_PRODUCTS)
    wrong = [w for w in words if w not in _PRODUCTS]
    if wrong or not words:
        raise ValueError(
            f"expected none, all, or the products that need approval, e.g. ov,ev; got {raw!r}"
        )
    return frozenset(words)


def _approvers(raw: str) -> frozenset[str]:
    ids = _list(raw)
    wrong = [i for i in ids if not _APPROVER.match(i)]
    if wrong:
        raise ValueError(
            "expected Slack user IDs like U012AB3CD or user group IDs like S012AB3CD; "
            f"got {', '.join(repr(w) for w in wrong)}"
        )
    return frozenset(ids)


def _token(prefix: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.startswith(prefix):
            raise ValueError(f"expected a token starting with {prefix}")
        return raw

    return parse


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}; got {raw!r}")
        return raw

    return parse


def _http_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http(s) URL; got {raw!r}")
    return raw.rstrip("/")


def _api_url(raw: str) -> str:
    return _http_url(raw) + "/"


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ValueError("expected sqlite:///path or postgresql://user@host:port/db")
    return raw


def _existing_file(raw: str) -> str:
    if not Path(raw).is_file():
        raise ValueError(f"no such file: {raw}")
    return raw


def _host_port(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, e.g. 127.0.0.1:53; got {raw!r}")
    return raw


_ACCESS_KEY_PART = re.compile(r"^[A-Za-z0-9]{8,128}$")


def _access_key_part(raw: str) -> str:
    # The value itself is never echoed: this may be the secret.
    if not _ACCESS_KEY_PART.match(raw):
        raise ValueError("expected 8 to 128 letters and digits, as the RAM console shows it")
    return raw


_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


def _aliyun_endpoint(raw: str) -> str:
    if raw.startswith("http://"):
        host = _host_port(raw.removeprefix("http://").rstrip("/"))
        return "http://" + host
    raw = raw.removeprefix("https://").rstrip("/")  # HTTPS is what a bare host means
    if "://" in raw or not _HOST.match(raw) or "." not in raw:
        raise ValueError(
            "expected a host name such as cas.aliyuncs.com (HTTPS), or http://host:port "
            f"for a local stand-in; got {raw!r}"
        )
    return raw.lower()


_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")


def _region(raw: str) -> str:
    if not _REGION.match(raw):
        raise ValueError(f"expected a region ID such as cn-hangzhou or ap-southeast-1; got {raw!r}")
    return raw
