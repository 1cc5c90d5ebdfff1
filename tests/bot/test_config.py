"""Settings: defaults for the embedded case, one clear line for each bad variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_services
from bot.config import Settings
from bot.errors import ConfigError


def test_defaults_serve_the_embedded_case(tmp_path: Path) -> None:
    settings = Settings.load({"CERTDESK_DATA_DIR": str(tmp_path)})
    assert settings.ca == "simulated"
    assert settings.database_url == f"sqlite:///{tmp_path / 'certdesk.sqlite3'}"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.reminder_schedule == (timedelta(hours=1), timedelta(hours=4), timedelta(days=1))


def test_values_are_parsed() -> None:
    settings = Settings.load(
        {
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "CERTDESK_ADMINS": "U01, U02 ,",
            "CERTDESK_POLL_INTERVAL": "30s",
            "CERTDESK_REMINDER_SCHEDULE": "2s,5s",
            "CERTDESK_WORKING_HOURS": "any",
            "DATABASE_URL": "postgresql://certdesk@127.0.0.1:5432/certdesk",
        }
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.admins == {"U01", "U02"}
    assert settings.poll_interval == timedelta(seconds=30)
    assert settings.reminder_schedule == (timedelta(seconds=2), timedelta(seconds=5))
    assert settings.working_hours is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-not-app"),
        ("SLACK_API_URL", "slack.com/api"),
        ("DATABASE_URL", "mysql://x"),
        ("CERTDESK_CA", "letsencrypt"),
        ("CERTDESK_POLL_INTERVAL", "soon"),
        ("CERTDESK_REMINDER_SCHEDULE", "1h,,x"),
        ("CERTDESK_WORKING_HOURS", "9 to 5"),
        ("CERTDESK_DNS_RESOLVER", "127.0.0.1"),
        ("CERTDESK_ACME_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load({name: value})
    message = str(raised.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    "name",
    [
        "CERTDESK_POLL_INTERVAL",
        "CERTDESK_TICK",
        "CERTDESK_VERIFICATION_WINDOW",
        "CERTDESK_KEY_FILE_TTL",
    ],
)
def test_a_zero_interval_is_refused_not_run_flat_out(name: str) -> None:
    # APScheduler quietly turns a 0 s interval into 1 s: polling the CA every second.
    with pytest.raises(ConfigError) as raised:
        Settings.load({name: "0s"})
    assert str(raised.value).startswith(f"{name}: ")
    assert "longer than zero" in str(raised.value)


def test_zero_is_allowed_where_it_means_at_once() -> None:
    settings = Settings.load({"CERTDESK_SIM_REVIEW_DELAY": "0s", "CERTDESK_ESCALATE_AFTER": "0s"})
    assert settings.sim_review_delay.total_seconds() == 0
    assert settings.escalate_after.total_seconds() == 0


def test_acme_needs_a_directory() -> None:
    with pytest.raises(ConfigError, match="^CERTDESK_ACME_DIRECTORY"):
        Settings.load({"CERTDESK_CA": "acme"})


def test_serving_needs_slack_credentials() -> None:
    with pytest.raises(ConfigError, match="^SLACK_BOT_TOKEN"):
        Settings.load({}).require_slack()
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET"):
        Settings.load({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack()
    with pytest.raises(ConfigError, match="^SLACK_APP_TOKEN"):
        Settings.load({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack(socket_mode=True)


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "CERTDESK_CA=acme\nCERTDESK_ACME_DIRECTORY=https://acme.test/dir\nCERTDESK_ADMINS=UFILE\n"
    )
    monkeypatch.setenv("CERTDESK_ADMINS", "UENV")
    settings = Settings.load(env_file=env_file)
    assert settings.ca == "acme"
    assert settings.admins == {"UENV"}


def test_cli_prints_one_line_for_bad_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CERTDESK_POLL_INTERVAL", "often")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("certdesk: CERTDESK_POLL_INTERVAL: ")
    assert err.count("\n") == 1


def test_admins_must_be_slack_user_ids() -> None:
    assert Settings.load({"CERTDESK_ADMINS": "U012AB3CD,W0ENTERPRISE"}).admins == {
        "U012AB3CD",
        "W0ENTERPRISE",
    }
    with pytest.raises(ConfigError, match="^CERTDESK_ADMINS: expected Slack user IDs.*'alice'"):
        Settings.load({"CERTDESK_ADMINS": "U012AB3CD,alice"})


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CERTDESK_DATA_DIR", "/proc/certdesk-cannot-be-here", "CERTDESK_DATA_DIR: cannot create"),
        ("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none", "DATABASE_URL: cannot use"),
    ],
)
def test_unusable_storage_stops_start_up_in_one_line(
    variable: str,
    value: str,
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv(variable, value)
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"certdesk: {words}")
    assert err.count("\n") == 1


ALIYUN = {
    "CERTDESK_CA": "aliyun",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tExampleKeyId0001",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "S3cretValueNeverShown000000001",
}


def test_aliyun_defaults_to_the_public_endpoint_and_hangzhou() -> None:
    settings = Settings.load(ALIYUN)
    assert settings.ca == "aliyun"
    assert settings.aliyun_access_key_id == "LTAI5tExampleKeyId0001"
    assert settings.aliyun_endpoint == "cas.aliyuncs.com"
    assert settings.aliyun_region == "cn-hangzhou"


def test_aliyun_endpoint_may_be_a_local_stand_in() -> None:
    settings = Settings.load(
        {
            **ALIYUN,
            "CERTDESK_ALIYUN_ENDPOINT": "http://127.0.0.1:8123/",
            "CERTDESK_ALIYUN_REGION": "ap-southeast-1",
        }
    )
    assert settings.aliyun_endpoint == "http://127.0.0.1:8123"
    assert settings.aliyun_region == "ap-southeast-1"
    https = Settings.load({**ALIYUN, "CERTDESK_ALIYUN_ENDPOINT": "https://CAS.aliyuncs.com/"})
    assert https.aliyun_endpoint == "cas.aliyuncs.com"


def test_no_secret_appears_in_the_settings_repr() -> None:
    settings = Settings.load(
        {
            **ALIYUN,
            "SLACK_BOT_TOKEN": "xoxb-bot-token-value",
            "SLACK_SIGNING_SECRET": "signing-secret-value",
            "CERTDESK_MASTER_KEY": "master-key-value",
        }
    )
    shown = repr(settings)
    assert "aliyun_access_key_id='LTAI5tExampleKeyId0001'" in shown
    for secret in (
        ALIYUN["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        "xoxb-bot-token-value",
        "signing-secret-value",
        "master-key-value",
    ):
        assert secret not in shown


@pytest.mark.parametrize(
    "missing", ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
)
def test_aliyun_needs_both_halves_of_the_access_key(missing: str) -> None:
    env = {k: v for k, v in ALIYUN.items() if k != missing}
    with pytest.raises(ConfigError) as raised:
        Settings.load(env)
    assert str(raised.value).startswith(f"{missing}: required when CERTDESK_CA=aliyun")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CERTDESK_ALIYUN_ENDPOINT", "ftp://cas.aliyuncs.com"),
        ("CERTDESK_ALIYUN_ENDPOINT", "http://127.0.0.1"),
        ("CERTDESK_ALIYUN_ENDPOINT", "cas aliyuncs com"),
        ("CERTDESK_ALIYUN_REGION", "Hangzhou"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "has spaces in it"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "short"),
    ],
)
def test_a_bad_aliyun_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load({**ALIYUN, name: value})
    message = str(raised.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    if name == "ALIBABA_CLOUD_ACCESS_KEY_SECRET":
        assert value not in message  # a mistyped secret is still a secret


def test_approval_defaults_to_ov_and_ev_and_reads_its_policy() -> None:
    default = Settings.load({"CERTDESK_ADMINS": "UADMIN01"})
    assert default.approval == {"ov", "ev"}
    assert default.needs_approval("ov") and default.needs_approval("ev")
    assert not default.needs_approval("dv")
    assert Settings.load({"CERTDESK_APPROVAL": "none"}).approval == frozenset()
    everything = Settings.load({"CERTDESK_APPROVAL": "ALL", "CERTDESK_APPROVERS": "S0APPR01"})
    assert everything.approval == {"dv", "ov", "ev"} and everything.needs_approval("dv")
    assert everything.approvers == {"S0APPR01"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CERTDESK_APPROVAL", "sometimes"),
        ("CERTDESK_APPROVAL", "ov,uk"),
        ("CERTDESK_APPROVERS", "alice"),
        ("CERTDESK_APPROVERS", "U0ALICE1,#approvers"),
    ],
)
def test_a_bad_approval_setting_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.load({name: value})


def test_with_nobody_to_approve_approval_is_off_and_start_up_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.load({"CERTDESK_DATA_DIR": str(tmp_path)})
    assert settings.approval and settings.approval_is_off and not settings.needs_approval("ov")
    with caplog.at_level("WARNING", logger="bot.app"):
        build_services(settings).engine.dispose()
    lines = [r.getMessage() for r in caplog.records if "CERTDESK_APPROVAL" in r.getMessage()]
    assert len(lines) == 1 and "approval is off" in lines[0]
