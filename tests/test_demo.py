"""The README's first command: `certdesk demo` runs the whole journey offline, on both CAs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.pebble import skip_unless_pebble

from bot.cli import main


def test_demo_runs_the_whole_journey(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Demo finished." in out
    for seen in (
        "only letters, digits and hyphens",  # a rejected domain, shown on its field
        "Use GB for the United Kingdom",  # a rejected country
        "was submitted to the CA for review",
        "cd-0001.csr.pem",
        "reminder 2.",  # reminders repeat until someone acts
        "is confirmed",  # the email's link, followed
        "is issued.",
        "SHA-256 fingerprint",
        "cd-0001.fullchain.pem",
        "cd-0001.key.pem",  # the key, passphrase-protected, in the DM
        "The key is RSA 1024, which is too weak",  # a weak uploaded CSR refused
        "does not match the legal name",  # a CA rejection with its reason
        "needs your approval before it goes to the CA",  # OV waits for Carol
        "was not approved by <@UCAROL>",  # sent back with the reason
        "was approved by <@UCAROL> and goes to the CA now",  # revised, then approved
        "You don't have access to CD-0001",
        "expires in 30 days",
    ):
        assert seen in out, seen


def test_demo_runs_on_acme_against_pebble(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skip_unless_pebble()
    assert main(["demo", "--ca", "acme", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "_acme-challenge.www.example.com  TXT" in out
    assert "has no TXT record" in out  # check now before publishing says what is missing
    assert "is issued." in out and "Pebble Intermediate CA" in out
