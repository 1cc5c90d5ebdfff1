"""A file attached to a modal (a CSR, a list of names), fetched from Slack with the bot token."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.application_form import UploadedFile

logger = logging.getLogger(__name__)

#: A CSR is a few kilobytes; 250 names of up to 253 characters fit too. Anything bigger is
#: something else.
MAX_FILE_BYTES = 64 * 1024
#: The modal's ack is due within 3 s, so the download gets less than that.
DOWNLOAD_TIMEOUT = 2.0


def download(
    quick: WebClient, file: Mapping[str, Any], *, token: str, api_url: str
) -> UploadedFile:
    """Download one file a person attached; the result says in words what went wrong, if so.

    ``quick`` is a client that fails fast instead of sleeping through a 429.
    """
    name = str(file.get("name") or file.get("title") or "the file")
    url = file.get("url_private_download") or file.get("url_private")
    if not url and file.get("id"):
        try:
            info = quick.files_info(file=str(file["id"]))["file"]
            url = info.get("url_private_download") or info.get("url_private")
        except (SlackApiError, OSError) as exc:
            logger.warning("files.info failed for an attached file: %s", type(exc).__name__)
    if not isinstance(url, str) or not url:
        return UploadedFile(name, problem=_again(name, "Slack did not say where it is"))
    if not _is_slack(url, api_url):
        # The bot token goes only to Slack itself, whatever a payload says.
        return UploadedFile(name, problem=_again(name, "it is not stored on Slack"))
    if int(file.get("size") or 0) > MAX_FILE_BYTES:
        return UploadedFile(name, problem=_too_big(name))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as answer:
            content = answer.read(MAX_FILE_BYTES + 1)
            kind = answer.headers.get_content_type()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        logger.warning("could not download an attached file from Slack: %s", exc)
        return UploadedFile(name, problem=_again(name, "Slack did not hand it over in time"))
    if len(content) > MAX_FILE_BYTES:
        return UploadedFile(name, problem=_too_big(name))
    if kind == "text/html":
        # Slack answers a missing files:read scope with its sign-in page, not an error.
        logger.error("Slack sent a web page for an attached file: is the files:read scope granted?")
        return UploadedFile(name, problem=_again(name, "Slack did not let certdesk read it"))
    return UploadedFile(name, content=content)


def _is_slack(url: str, api_url: str) -> bool:
    target, api = urlsplit(url), urlsplit(api_url)
    if target.scheme != api.scheme or not target.hostname or not api.hostname:
        return False
    if target.netloc == api.netloc:
        return True
    # files.slack.com next to slack.com/api
    return target.scheme == "https" and target.hostname.endswith("." + api.hostname)


def _again(name: str, why: str) -> str:
    return f"certdesk could not read {name}: {why}. Attach it again."


def _too_big(name: str) -> str:
    return (
        f"{name} is too big (over {MAX_FILE_BYTES // 1024} KB) for a CSR or a list of names. "
        "Attach the file certdesk asks for here."
    )
