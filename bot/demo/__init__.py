"""`certdesk demo`: the whole journey offline — Slack emulator, SQLite, and a CA.

The default CA is the embedded simulated one; `--ca acme` runs against a local Pebble
(Debian package `pebble`) with real DNS validation through pebble-challtestsrv; `--ca aliyun`
against certdesk's stand-in of Alibaba Cloud's CAS API (signed calls through the real SDK).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bot.app import create
from bot.config import Settings
from bot.demo.acme import acme_journey
from bot.demo.aliyun import aliyun_journey
from bot.demo.journey import simulated_journey
from bot.demo.narrator import ALICE, BOB, CAROL, Narrator
from bot.devtools.aliyun import CasStandIn
from bot.devtools.pebble import start_pebble
from bot.devtools.ports import free_port
from bot.emulator import Emulator, SlackSide
from bot.scheduler import start_scheduler, stop_scheduler
from bot.serve import start_http

TOKEN, SECRET = "xoxb-demo-token", "demo-signing-secret"
#: Hours compressed into seconds, so the journey takes well under a minute.
COMPRESSED = {
    "CERTDESK_SIM_REVIEW_DELAY": "1s",
    "CERTDESK_POLL_INTERVAL": "1s",
    "CERTDESK_TICK": "1s",
    "CERTDESK_REMINDER_SCHEDULE": "2s,4s",
    "CERTDESK_WORKING_HOURS": "any",
}


def run_demo(*, data_dir: str | None = None, ca: str = "simulated") -> int:
    """Run the journey; return the exit status."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="certdesk-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        emulator = stack.enter_context(Emulator(token=TOKEN, signing_secret=SECRET))
        emulator.add_user(ALICE, name="alice", tz="Europe/London")
        emulator.add_user(BOB, name="bob", tz="America/New_York")
        emulator.add_user(CAROL, name="carol", tz="Europe/Berlin")
        port = free_port()
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emulator.api_url,
            "CERTDESK_DATA_DIR": str(root / "certdesk"),
            "CERTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            # Carol, the team lead, approves OV and EV applications (the default policy).
            "CERTDESK_APPROVERS": CAROL,
            **COMPRESSED,
        }
        pebble, cas = None, None
        if ca == "aliyun":
            key_id, secret = "LTAI5tCertdeskDemo01", "DemoSecretForTheLocalStandIn01"
            cas = stack.enter_context(
                CasStandIn(root / "cas", credentials={key_id: secret}, validation_delay=0.5)
            )
            env.update(
                {
                    "CERTDESK_CA": "aliyun",
                    "ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
                    "CERTDESK_ALIYUN_ENDPOINT": cas.endpoint,
                }
            )
        if ca == "acme":
            pebble = start_pebble(root / "pebble")
            stack.callback(pebble.stop)
            env.update(pebble.certdesk_env(challenge="dns-01"))
        http = start_http(create(Settings.load(env)), port=port)
        stack.callback(http.stop)
        scheduler = start_scheduler(http.certdesk.services)
        stack.callback(stop_scheduler, scheduler)
        slack = SlackSide(emulator, request_url=f"{http.url}/slack/events", signing_secret=SECRET)
        narrator = Narrator(emulator, slack, http)
        print(f"certdesk demo on the {ca} CA — data in {root}")
        print(f"Slack emulator at {emulator.base_url}; certdesk at {http.url}")
        if pebble is not None:
            acme_journey(narrator, pebble)
        elif cas is not None:
            aliyun_journey(narrator, cas)
        else:
            simulated_journey(narrator)
    if not data_dir:
        shutil.rmtree(root, ignore_errors=True)
    print("\nDemo finished.")
    return 0
