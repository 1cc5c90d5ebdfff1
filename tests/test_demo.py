"""The README's first command: `certdesk demo` runs the journey offline and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def test_demo_runs_the_journey(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Demo finished." in out
    assert "Use GB for the United Kingdom" in out  # a rejected input, shown to the person
    assert "was submitted to the CA for review" in out
    assert "cd-0001.csr.pem" in out
