"""certdesk processes run by the real console script (replicas, Socket Mode); a log per start."""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bot.emulator import Emulator, SlackSide
from bot.views import ids
from support.app_fixtures import wait_for

CERTDESK = Path(sys.executable).with_name("certdesk")
#: A fixed master key, so every process opens the keys the others sealed.
MASTER_KEY = "00" * 32
LEADS = "scheduler lock taken"
LETS_GO = "scheduler lock let go"


def environment(env: dict[str, str]) -> dict[str, str]:
    """The parent's environment without certdesk's or Slack's variables, then ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CERTDESK_", "SLACK_"))}
    # A process that hangs is stopped with SIGABRT, which then prints every thread's stack.
    return {**clean, "PYTHONFAULTHANDLER": "1", **env}


def certdesk(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a short `certdesk` command to the end (at most two minutes)."""
    return subprocess.run(
        [str(CERTDESK), *args],
        env=environment(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Proc:
    """One certdesk process, restartable; each start logs to its own file."""

    name: str
    args: list[str]
    env: dict[str, str]
    logs: Path
    starts: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        """The current start's log file."""
        return self.logs / f"{self.name}.{self.starts}.log"

    def start(self) -> Proc:
        """Start (again)."""
        self.starts += 1
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(CERTDESK), *self.args],
                env=environment(self.env),
                cwd=self.logs,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def output(self) -> str:
        """What the current start has logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def leads(self) -> bool:
        """Whether the current start has taken the scheduler lock (and not let it go)."""
        text = self.output()
        return text.rfind(LEADS) > text.rfind(LETS_GO)

    def kill(self) -> None:
        """kill -9 and reap."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM; the exit status. A process that overstays ``timeout`` is aborted, and the
        test fails with its log, which ends with every thread's stack."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # stopped (SIGSTOP), say: nothing left to show
                self.process.kill()
                self.process.wait()
            raise AssertionError(
                f"{self.name} still running {timeout} s after SIGTERM:\n{self.output()}"
            ) from None

    def alive(self) -> bool:
        """Whether the current start is still running."""
        return self.process is not None and self.process.poll() is None


def healthy(url: str) -> bool:
    """Whether certdesk answers /healthz at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def register_and_submit(
    slack: SlackSide, emulator: Emulator, user: str, domain: str, *, key: str = "p256"
) -> str:
    """As ``user``: /cert new, complete with a system-made key, submit; return the ref."""

    def registered() -> list:
        return [m for m in emulator.dms_to(user) if "registered" in m.text]

    assert slack.slash_command(user, "new").status == 200
    given = {ids.PRODUCT: "dv", ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1"}
    assert slack.submit_view(user, {**given, ids.VALIDITY: "90"}).status == 200
    dm = wait_for(registered, timeout=30, what=f"{user}'s registration DM")
    match = re.search(r"CD-\d{4}", dm[-1].text)
    assert match, dm[-1].text
    ref = match.group(0)
    assert slack.slash_command(user, f"complete {ref}").status == 200
    form = {
        ids.DOMAINS: domain,
        ids.APPLICANT_NAME: "Alice Example",
        ids.APPLICANT_EMAIL: f"admin@{domain}",
        ids.APPLICANT_PHONE: "+44 20 7946 0958",
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: key,
    }
    pushed = slack.submit_view(user, form).json()
    assert pushed is not None and pushed.get("response_action") == "push", pushed
    assert slack.submit_view(user, {}).json() == {"response_action": "clear"}
    return ref


def follow_link(link: str) -> int:
    """Open a verification link and press Confirm (a POST with the page's hidden form fields,
    as a browser sends them); the status of the page that answers."""
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.status == 200
        page = response.read().decode()
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    form = urlencode({html.unescape(k): html.unescape(v) for k, v in fields}).encode()
    with urllib.request.urlopen(link, data=form, timeout=10) as response:
        return int(response.status)
