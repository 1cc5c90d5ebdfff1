"""Pre-flight CAA checks before submission, against challtestsrv's real DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from support.pebble import Pebble, free_port, start_pebble

from bot import preflight
from bot.ca.base import Submission
from bot.config import Settings
from bot.errors import CAError, PreflightError


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with start_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


def services(*, ca: str = "acme", resolver: str | None = None, identities: tuple = ()) -> Any:
    """Just what pre-flight reads: the resolver setting and the CA's name and CAA identities."""
    return SimpleNamespace(
        settings=Settings(dns_resolver=resolver),
        ca=SimpleNamespace(name=ca, caa_identities=identities, local=False),
    )


def submission(*domains: str) -> Submission:
    return Submission(
        order_ref="CD-0042",
        product="dv",
        domains=domains,
        csr_pem=b"",
        applicant_name="Ada",
        applicant_email="ada@example.com",
        applicant_phone="+44 20 7946 0000",
    )


def test_simulated_ca_without_a_resolver_asks_no_dns_server() -> None:
    sim = services(ca="simulated", identities=("certdesk.invalid",))
    assert preflight.resolver_for(sim) is None
    # Would need DNS for any real check: passes without a network.
    preflight.check_before_submit(sim, submission("shop.example.com"))


def test_the_configured_resolver_wins_and_acme_falls_back_to_the_system_one() -> None:
    configured = preflight.resolver_for(services(ca="simulated", resolver="127.0.0.1:5353"))
    assert configured is not None and configured.description.endswith("127.0.0.1:5353")
    system = preflight.resolver_for(services(ca="acme"))
    assert system is not None and system.description == "the system DNS resolver"


def test_caa_naming_another_ca_stops_submission_quoting_the_record(pebble: Pebble) -> None:
    pebble.add_caa("caa-other.example", [("issue", "letsencrypt.org")])
    acme = services(resolver=pebble.dns_address, identities=("pebble.invalid",))
    with pytest.raises(PreflightError) as refused:
        preflight.check_before_submit(
            acme, submission("caa-other.example", "www.caa-other.example")
        )
    message = str(refused.value)
    assert message.startswith("CD-0042 was not sent to the CA")
    assert "issuer domain pebble.invalid" in message
    assert '“0 issue "letsencrypt.org"”' in message  # the record, quoted
    assert "(inherited by www.caa-other.example)" in message  # the parent's record, named
    assert 'Add the CAA record “0 issue "pebble.invalid"” at caa-other.example' in message


def test_caa_allowing_the_ca_or_no_caa_at_all_lets_it_through(pebble: Pebble) -> None:
    pebble.add_caa("caa-ok.example", [("issue", "letsencrypt.org"), ("issue", "pebble.invalid")])
    acme = services(resolver=pebble.dns_address, identities=("pebble.invalid",))
    preflight.check_before_submit(acme, submission("caa-ok.example", "a.b.caa-ok.example"))
    preflight.check_before_submit(acme, submission("no-caa.example"))


def test_simulated_ca_is_checked_too_once_a_resolver_is_configured(pebble: Pebble) -> None:
    pebble.add_caa("caa-sim.example", [("issue", "letsencrypt.org")])
    sim = services(ca="simulated", resolver=pebble.dns_address, identities=("certdesk.invalid",))
    with pytest.raises(PreflightError, match="certdesk.invalid"):
        preflight.check_before_submit(sim, submission("caa-sim.example"))


def test_an_unreachable_resolver_is_retryable_not_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(preflight, "DNS_TIMEOUT", 0.3)
    silent = f"127.0.0.1:{free_port(udp_too=True)}"  # nothing answers there
    acme = services(resolver=silent, identities=("pebble.invalid",))
    with pytest.raises(CAError) as waiting:
        preflight.check_before_submit(acme, submission("a.example", "b.example"))
    assert waiting.value.retryable
    assert "CD-0042" in str(waiting.value) and "could not be reached" in str(waiting.value)
    assert "try again by itself" in str(waiting.value)


def test_a_backend_at_a_local_standin_skips_caa_unless_a_resolver_is_set() -> None:
    local = services(ca="aliyun")
    local.ca.local = True
    assert preflight.resolver_for(local) is None
    local.settings = Settings(dns_resolver="127.0.0.1:5353")
    assert preflight.resolver_for(local) is not None
