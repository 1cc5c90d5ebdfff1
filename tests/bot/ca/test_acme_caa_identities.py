"""The ACME CA's CAA identity: configured, else the directory's meta.caaIdentities, else a table.

Pebble 2.4's directory publishes no caaIdentities, so a local HTTP server answers with
Pebble's own directory plus ``meta.caaIdentities``: its other URLs still lead to Pebble.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from support.pebble import Pebble, dv_submission, free_port, start_pebble

from bot import preflight
from bot.ca.acme import AcmeBackend, generate_account_key
from bot.ca.acme.caa import known_identities
from bot.ca.base import MemoryStateStore, Submission
from bot.config import Settings
from bot.errors import CAError, PreflightError


class DirectoryServer:
    """A real HTTP server answering GET /directory with ``body``; counts the requests."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.hits += 1
                data = json.dumps(server.body).encode()
                self.send_response(200 if self.path == "/directory" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/directory"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with start_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


@pytest.fixture(scope="module")
def pebble_directory(pebble: Pebble) -> dict[str, Any]:
    """Pebble's directory JSON, as Pebble serves it."""
    context = ssl.create_default_context(cafile=pebble.ca_bundle)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    with opener.open(pebble.directory_url, timeout=5) as response:
        directory = json.load(response)
    assert "caaIdentities" not in directory.get("meta", {})  # why this file serves its own
    return directory


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[DirectoryServer] = []

    def start(body: dict[str, Any]) -> DirectoryServer:
        servers.append(DirectoryServer(body))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def with_identities(directory: dict[str, Any], identities: object) -> dict[str, Any]:
    return {**directory, "meta": {**directory.get("meta", {}), "caaIdentities": identities}}


def backend(
    directory_url: str, pebble: Pebble, *, configured: tuple = (), fallback: tuple = ()
) -> AcmeBackend:
    return AcmeBackend(
        directory_url=directory_url,
        account_key_pem=generate_account_key(),
        contact_email=None,
        challenge="dns-01",
        store=MemoryStateStore(),
        ca_bundle=pebble.ca_bundle,
        caa_identities=configured,
        caa_fallback=fallback,
    )


def submission(*domains: str) -> Submission:
    return dv_submission(domains, order_ref="CD-0077")  # the pre-flight warnings name it


def services(ca: AcmeBackend, pebble: Pebble) -> Any:
    """Just what pre-flight reads: the resolver setting and the CA."""
    return SimpleNamespace(settings=Settings(dns_resolver=pebble.dns_address), ca=ca)


# --- where the identities come from ---------------------------------------------------------


def test_the_directory_meta_names_the_ca_and_is_read_once(
    pebble: Pebble, pebble_directory: dict[str, Any], serve: Any
) -> None:
    server = serve(with_identities(pebble_directory, ["Pebble.Invalid.", "second.example"]))
    ca = backend(server.url, pebble, fallback=("table.example",))
    assert ca.caa_identities == ("pebble.invalid", "second.example")
    assert ca.caa_identities == ("pebble.invalid", "second.example")
    # Ordering uses the same directory: Pebble accepts the order, and nothing asked again.
    assert ca.submit(submission("caa-meta.example")).startswith("https://")
    assert server.hits == 1


def test_configured_identities_win_without_asking_the_ca(
    pebble: Pebble, pebble_directory: dict[str, Any], serve: Any
) -> None:
    server = serve(with_identities(pebble_directory, ["pebble.invalid"]))
    ca = backend(server.url, pebble, configured=("mine.example",))
    assert ca.caa_identities == ("mine.example",)
    assert server.hits == 0


def test_pebble_publishes_none_so_the_table_or_nothing(pebble: Pebble) -> None:
    assert backend(pebble.directory_url, pebble).caa_identities == ()
    fallback = backend(pebble.directory_url, pebble, fallback=("table.example",))
    assert fallback.caa_identities == ("table.example",)


def test_an_unreachable_directory_falls_back_or_is_retryable(pebble: Pebble) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/directory"
    assert backend(nowhere, pebble, fallback=("table.example",)).caa_identities == (
        "table.example",
    )
    with pytest.raises(CAError) as caught:
        _ = backend(nowhere, pebble).caa_identities
    assert caught.value.retryable and "directory" in str(caught.value)


@pytest.mark.parametrize(
    ("published", "kept"),
    [
        (["<!channel>", "a b", 7, None, "x..y", "-bad.example", "ok.example", "OK.example"], 1),
        ("pebble.invalid", 0),  # a string, not a list
        ({"pebble.invalid": True}, 0),
        ([], 0),
        (["a" * 64 + ".example"], 0),  # a label longer than 63
    ],
)
def test_hostile_caa_identities_are_ignored(
    pebble: Pebble, pebble_directory: dict[str, Any], serve: Any, published: object, kept: int
) -> None:
    server = serve(with_identities(pebble_directory, published))
    found = backend(server.url, pebble).caa_identities
    assert found == ("ok.example",) * kept


def test_the_table_knows_public_cas_by_directory_host() -> None:
    le = "https://acme-v02.api.letsencrypt.org/directory"
    assert known_identities(le) == ("letsencrypt.org",)
    assert known_identities("https://acme.zerossl.com/v2/DV90") == ("sectigo.com",)
    assert known_identities("https://evil-letsencrypt.org/directory") == ()
    assert known_identities("https://127.0.0.1:14000/dir") == ()


# --- what pre-flight does with them -----------------------------------------------------------


def test_with_the_directorys_identity_caa_is_checked_in_full(
    pebble: Pebble, pebble_directory: dict[str, Any], serve: Any
) -> None:
    server = serve(with_identities(pebble_directory, ["pebble.invalid"]))
    ca = backend(server.url, pebble)
    pebble.add_caa("ours.meta.example", [("issue", "pebble.invalid")])
    pebble.add_caa("theirs.meta.example", [("issue", "otherca.example")])
    assert preflight.check_before_submit(
        services(ca, pebble), submission("ours.meta.example")
    ) == preflight.PreflightResult(warnings=())
    with pytest.raises(PreflightError) as refused:
        preflight.check_before_submit(services(ca, pebble), submission("theirs.meta.example"))
    assert "(issuer domain pebble.invalid)" in str(refused.value)
    assert '“0 issue "pebble.invalid"”' in str(refused.value)


def test_without_any_identity_the_requester_is_told_what_was_not_checked(
    pebble: Pebble,
) -> None:
    ca = backend(pebble.directory_url, pebble)  # Pebble's own directory: no caaIdentities
    pebble.add_caa("theirs.nometa.example", [("issue", "otherca.example")])
    result = preflight.check_before_submit(
        services(ca, pebble),
        submission("www.theirs.nometa.example", "theirs.nometa.example", "free.nometa.net"),
    )
    (warning,) = result.warnings
    assert warning.startswith(
        "certdesk could not check whether the CAA records of CD-0077's domains let the acme "
        "CA issue, because that CA does not publish the issuer domain it uses in CAA records "
        "and none is configured: "
    )
    assert (
        'theirs.nometa.example has the CAA record “0 issue "otherca.example"” (inherited by '
        "www.theirs.nometa.example), which allows only otherca.example to issue certificates; "
        'theirs.nometa.example has the CAA record “0 issue "otherca.example"”, which allows '
        "only otherca.example to issue certificates." in warning
    )
    assert "it will refuse CD-0077 when it validates the domains" in warning
    assert "CERTDESK_ACME_CAA_IDENTITIES" in warning
    assert "free.nometa.net" not in warning  # no CAA there: nothing left unchecked
    assert "<" not in warning and "*" not in warning  # plain text, no markup

    # Nothing to judge, nothing to say; a record forbidding every CA still stops the order.
    none = preflight.check_before_submit(services(ca, pebble), submission("free.nometa.net"))
    assert none.warnings == ()
    pebble.add_caa("closed.nometa.example", [("issue", ";")])
    with pytest.raises(PreflightError, match="allows no CA to issue"):
        preflight.check_before_submit(services(ca, pebble), submission("closed.nometa.example"))
