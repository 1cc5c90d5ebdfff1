"""CAA and TXT pre-flight checks against real DNS servers: challtestsrv and a tiny local one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from support.pebble import Pebble, start_pebble

from bot.dnscheck import Resolver, check_all_caa, check_caa, check_txt_visible
from bot.errors import ConfigError, PreflightError

ME = ("pebble.invalid",)


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with start_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


@pytest.fixture
def resolver(pebble: Pebble) -> Resolver:
    return Resolver(pebble.dns_address, timeout=2)


class TinyDNS:
    """A UDP DNS server answering from a dict, for what challtestsrv cannot serve."""

    def __init__(self, records: dict[tuple[str, str], list[str]], *, servfail: bool = False):
        self.records = records
        self.servfail = servfail
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            if self.servfail:
                response.set_rcode(dns.rcode.SERVFAIL)
            elif (name, kind) in self.records:
                response.answer.append(
                    dns.rrset.from_text_list(
                        question.name, 60, "IN", kind, self.records[name, kind]
                    )
                )
            elif not any(n == name or n.endswith("." + name) for n, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.flags |= dns.flags.RA
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def tiny() -> Iterator[list[TinyDNS]]:
    servers: list[TinyDNS] = []
    yield servers
    for server in servers:
        server.stop()


def test_no_caa_anywhere_allows_any_ca(resolver: Resolver) -> None:
    check_caa(resolver, "nocaa.example.net", ca_identities=ME, wildcard=False)
    check_caa(resolver, "*.nocaa.example.net", ca_identities=ME, wildcard=True)


def test_caa_naming_another_ca_refuses_and_quotes_the_record(
    pebble: Pebble, resolver: Resolver
) -> None:
    pebble.add_caa("other.example", [("issue", "otherca.example")])
    with pytest.raises(PreflightError) as caught:
        check_caa(resolver, "other.example", ca_identities=ME, wildcard=False)
    message = str(caught.value)
    assert 'other.example has the CAA record “0 issue "otherca.example"”' in message
    assert "allows only otherca.example to issue" in message
    assert '“0 issue "pebble.invalid"”' in message


def test_caa_is_inherited_from_the_closest_parent(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa("parent.example", [("issue", "otherca.example")])
    with pytest.raises(PreflightError, match=r"inherited by www\.shop\.parent\.example"):
        check_caa(resolver, "www.shop.parent.example", ca_identities=ME, wildcard=False)
    # The closest RRset wins: a child naming us overrides the parent's refusal.
    pebble.add_caa("shop.parent.example", [("issue", "pebble.invalid")])
    check_caa(resolver, "www.shop.parent.example", ca_identities=ME, wildcard=False)


def test_caa_naming_this_ca_passes(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa(
        "mine.example",
        [("issue", "otherca.example"), ("issue", "Pebble.Invalid; validationmethods=dns-01")],
    )
    check_caa(resolver, "mine.example", ca_identities=ME, wildcard=False)


def test_issuewild_governs_wildcards_and_issue_the_rest(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa("wild.example", [("issue", "pebble.invalid"), ("issuewild", ";")])
    check_caa(resolver, "wild.example", ca_identities=ME, wildcard=False)
    with pytest.raises(PreflightError) as caught:
        check_caa(resolver, "*.wild.example", ca_identities=ME, wildcard=True)
    assert "allows no CA to issue wildcard certificates" in str(caught.value)
    assert '“0 issuewild "pebble.invalid"”' in str(caught.value)

    pebble.add_caa("wild2.example", [("issue", "otherca.example"), ("issuewild", "pebble.invalid")])
    check_caa(resolver, "*.wild2.example", ca_identities=ME, wildcard=True)
    with pytest.raises(PreflightError):
        check_caa(resolver, "wild2.example", ca_identities=ME, wildcard=False)


def test_wildcard_falls_back_to_issue(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa("wild3.example", [("issue", "otherca.example")])
    with pytest.raises(PreflightError, match="allows only otherca.example to issue certificates"):
        check_caa(resolver, "*.wild3.example", ca_identities=ME, wildcard=True)


def test_check_all_caa_collects_every_problem(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa("bad1.example", [("issue", "a.example")])
    pebble.add_caa("bad2.example", [("issue", "b.example"), ("issue", "c.example")])
    with pytest.raises(PreflightError) as caught:
        check_all_caa(
            resolver, ["ok.example.net", "bad1.example", "bad2.example"], ca_identities=ME
        )
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('bad1.example has the CAA record “0 issue "a.example"”')
    assert "bad2.example has the CAA records" in lines[1]
    assert "allow only b.example, c.example to issue" in lines[1]
    check_all_caa(resolver, ["ok.example.net", "*.ok.example.net"], ca_identities=ME)


def test_critical_unknown_tag_refuses(tiny: list[TinyDNS]) -> None:
    server = TinyDNS(
        {
            ("crit.example", "CAA"): ['0 issue "pebble.invalid"', '128 tbs "unknown"'],
            ("fine.example", "CAA"): ['0 issue "pebble.invalid"', '0 tbs "unknown"'],
        }
    )
    tiny.append(server)
    resolver = Resolver(server.address, timeout=2)
    with pytest.raises(PreflightError, match=r"“128 tbs \"unknown\"”.*marked critical"):
        check_caa(resolver, "www.crit.example", ca_identities=ME, wildcard=False)
    check_caa(resolver, "fine.example", ca_identities=ME, wildcard=False)


def test_servfail_is_reported_as_refusal(tiny: list[TinyDNS]) -> None:
    server = TinyDNS({}, servfail=True)
    tiny.append(server)
    with pytest.raises(PreflightError, match="failed to answer a CAA query"):
        check_caa(Resolver(server.address), "x.example", ca_identities=ME, wildcard=False)


def test_unreachable_resolver_says_so_quickly() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives queries, never answers
    try:
        resolver = Resolver(f"127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        with pytest.raises(PreflightError, match=r"could not be reached.*try again"):
            check_all_caa(resolver, ["a.example", "b.example", "c.example"], ca_identities=ME)
        # One timeout, not one per domain: nothing was asked about the other names.
        silent.setblocking(False)
        asked = set()
        while True:
            try:
                wire = silent.recv(4096)
            except BlockingIOError:
                break
            asked.add(str(dns.message.from_wire(wire).question[0].name))
        assert asked and all(name.endswith("a.example.") for name in asked), asked
    finally:
        silent.close()


def test_txt_visible(pebble: Pebble, resolver: Resolver) -> None:
    name = "_acme-challenge.txt.example"
    with pytest.raises(PreflightError) as caught:
        check_txt_visible(resolver, name, "expected-value")
    assert str(caught.value).startswith(
        "_acme-challenge.txt.example has no TXT record “expected-value” yet "
        "(found: no TXT record at all)"
    )
    pebble.set_txt(name, "stale-value")
    with pytest.raises(PreflightError, match="found: “stale-value”"):
        check_txt_visible(resolver, name, "expected-value")
    pebble.set_txt(name, "expected-value")
    check_txt_visible(resolver, name, "expected-value")
    pebble.clear_txt(name)
    with pytest.raises(PreflightError):
        check_txt_visible(resolver, name, "expected-value")


def test_txt_split_into_strings_is_one_value(tiny: list[TinyDNS]) -> None:
    server = TinyDNS({("_acme-challenge.split.example", "TXT"): ['"abc" "def"']})
    tiny.append(server)
    check_txt_visible(Resolver(server.address), "_acme-challenge.split.example", "abcdef")


@pytest.mark.parametrize("bad", ["127.0.0.1:notaport", ":53", "127.0.0.1:70000", "[::1]:x"])
def test_bad_resolver_address_names_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match="CERTDESK_DNS_RESOLVER"):
        Resolver(bad)


def test_invalid_name_is_a_preflight_error(resolver: Resolver) -> None:
    with pytest.raises(PreflightError, match="not a valid DNS name"):
        check_caa(resolver, "a..b.example", ca_identities=ME, wildcard=False)


# --- when the CA's own issuer domain is unknown ------------------------------------------------


def test_unknown_identity_returns_records_naming_cas_unjudged(
    pebble: Pebble, resolver: Resolver
) -> None:
    pebble.add_caa("named.unknown.example", [("issue", "otherca.example")])
    found = check_caa(resolver, "www.named.unknown.example", ca_identities=(), wildcard=False)
    assert found is not None and found.domain == "www.named.unknown.example"
    assert found.description == (
        'named.unknown.example has the CAA record “0 issue "otherca.example"” (inherited by '
        "www.named.unknown.example), which allows only otherca.example to issue certificates"
    )
    # No CAA at all, or only records about other kinds of names: nothing left unjudged.
    assert check_caa(resolver, "nocaa.unknown.example", ca_identities=(), wildcard=False) is None
    pebble.add_caa("wildonly.unknown.example", [("issuewild", "otherca.example")])
    plain = check_caa(resolver, "wildonly.unknown.example", ca_identities=(), wildcard=False)
    assert plain is None


def test_unknown_identity_still_refuses_records_that_forbid_every_ca(
    pebble: Pebble, resolver: Resolver
) -> None:
    pebble.add_caa("none.unknown.example", [("issue", ";")])
    with pytest.raises(PreflightError) as caught:
        check_caa(resolver, "none.unknown.example", ca_identities=(), wildcard=False)
    assert "allows no CA to issue certificates" in str(caught.value)
    assert "naming the CA's issuer domain" in str(caught.value)


def test_check_all_caa_lists_what_it_could_not_judge(pebble: Pebble, resolver: Resolver) -> None:
    pebble.add_caa("a.unjudged.example", [("issue", "one.example")])
    pebble.add_caa("b.unjudged.example", [("issue", "two.example"), ("iodef", "mailto:x@y.z")])
    found = check_all_caa(
        resolver,
        ["a.unjudged.example", "free.example.net", "b.unjudged.example"],
        ca_identities=(),
    )
    assert [u.domain for u in found] == ["a.unjudged.example", "b.unjudged.example"]
    # A known identity judges the same records instead of listing them.
    with pytest.raises(PreflightError):
        check_all_caa(resolver, ["a.unjudged.example"], ca_identities=ME)
    assert check_all_caa(resolver, ["free.example.net"], ca_identities=ME) == []
