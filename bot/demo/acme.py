"""The demo's story on a real ACME server (Pebble): publish the DNS record, check now, issued."""

from __future__ import annotations

import re

from bot.demo.journey import TWO_NAMES, confirm, register, state_of
from bot.demo.narrator import ALICE, Narrator
from bot.devtools.pebble import Pebble
from bot.views import ids


def acme_journey(n: Narrator, pebble: Pebble) -> None:
    """A DV order through dns-01 against Pebble, with real validation."""
    n.title("Alice registers a DV certificate for two domains, issued through ACME")
    ref = register(n, product="dv", domain_type="multi", count=2)
    n.command(ALICE, f"complete {ref}")
    n.submit(ALICE, TWO_NAMES)
    confirm(n)

    n.title("certdesk shows exactly which DNS records to publish")
    reminder = n.wait(lambda: n.dm_with(ALICE, ids.CHECK_NOW, containing=ref), what="a reminder")
    n.show_dms(ALICE)

    n.title("Alice presses check now too early: certdesk looks first and says what is missing")
    n.click(ALICE, ids.CHECK_NOW, reminder, "I've verified — check now")
    n.show_dms(ALICE)

    n.title("Alice publishes the TXT records (in the demo's DNS server) and checks again")
    records = _records(reminder.text + str(reminder.blocks))
    for name, value in records:
        print(f"\n  Alice publishes {name} TXT {value}")
        pebble.set_txt(name, value)
    n.click(ALICE, ids.CHECK_NOW, reminder, "I've verified — check now")
    n.wait(lambda: state_of(n, ref) == "issued", what="issuance by Pebble", timeout=60)
    n.wait(lambda: n.dm_with(ALICE, ids.DOWNLOAD_KEY, containing=ref), what="the issuance DM")
    n.settle()
    n.show_dms(ALICE)


def _records(text: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the TXT records a reminder asks for."""
    found = re.findall(r"(_acme-challenge\.[a-z0-9.-]+?)\.?\s+TXT\s+\"?([A-Za-z0-9_-]{43})", text)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise RuntimeError("the reminder named no TXT record")
    return unique
