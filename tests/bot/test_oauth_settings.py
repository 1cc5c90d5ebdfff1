"""OAuth settings: client credentials instead of a bot token, each mistake in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import authorize_url
from bot.config import Settings
from bot.errors import ConfigError
from bot.slack.workspaces import SCOPES

OAUTH = {
    "SLACK_CLIENT_ID": "1000.2000",
    "SLACK_CLIENT_SECRET": "s3cret",
    "SLACK_SIGNING_SECRET": "sign",
}
MANIFEST = Path(__file__).resolve().parents[2] / "app_manifest.yml"


def test_client_id_and_secret_mean_oauth_and_stay_out_of_repr() -> None:
    settings = Settings.load(OAUTH)
    assert settings.oauth and settings.slack_bot_token is None
    assert "s3cret" not in repr(settings)
    settings.require_slack()  # HTTP with a signing secret: ready to serve
    assert not Settings.load({"SLACK_BOT_TOKEN": "xoxb-1"}).oauth


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"SLACK_CLIENT_ID": "abc", "SLACK_CLIENT_SECRET": "x"}, "SLACK_CLIENT_ID: “abc” is not"),
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID"),
        ({"SLACK_CLIENT_SECRET": "x"}, "SLACK_CLIENT_ID: required with SLACK_CLIENT_SECRET"),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN: not used with SLACK_CLIENT_ID"),
    ],
)
def test_each_mistake_is_one_line(env: dict[str, str], line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(env)
    assert str(caught.value).startswith(line) and "\n" not in str(caught.value)


def test_oauth_needs_the_signing_secret_and_http() -> None:
    no_secret = Settings.load({k: v for k, v in OAUTH.items() if k != "SLACK_SIGNING_SECRET"})
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID"):
        no_secret.require_slack()
    with pytest.raises(ConfigError, match="serve without --socket"):
        Settings.load(OAUTH).require_slack(socket_mode=True)


def test_consent_page_sits_beside_the_web_api() -> None:
    assert authorize_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorize_url("http://127.0.0.1:9/api/") == "http://127.0.0.1:9/oauth/v2/authorize"


def test_manifest_asks_for_the_scopes_redirect_and_events_oauth_uses() -> None:
    text = MANIFEST.read_text()
    bot = text.split("    bot:\n", 1)[1].split("settings:", 1)[0]
    assert tuple(re.findall(r"^      - ([\w:]+)", bot, re.MULTILINE)) == SCOPES
    assert "- https://YOUR-HOST/slack/oauth_redirect" in text
    for event in ("app_uninstalled", "tokens_revoked"):
        assert re.search(rf"^      - {event}\b", text, re.MULTILINE)
