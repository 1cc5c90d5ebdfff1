"""The demo's story on the simulated CA: register, complete, submit, verify, issue, expire."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bot import crypto
from bot.ca.simulated import mailer
from bot.demo import browser
from bot.demo.narrator import ALICE, BOB, CAROL, Narrator
from bot.orders.reminding import send_due
from bot.products import MAX_DOMAINS
from bot.views import ids
from storage import queries

APPLICANT = {
    ids.APPLICANT_NAME: "Alice Example",
    ids.APPLICANT_EMAIL: "admin@example.com",
    ids.APPLICANT_PHONE: "+44 20 7946 0958",
}
#: A two-name DV order whose key certdesk makes (the ACME and Alibaba Cloud stories).
TWO_NAMES = {
    ids.DOMAINS: "example.com\nwww.example.com",
    **APPLICANT,
    ids.CSR_METHOD: "system",
    ids.KEY_ALGORITHM: "p256",
}
ORGANIZATION = {
    ids.ORG_LEGAL_NAME: "Example Widgets Ltd",
    ids.ORG_COUNTRY: "UK",
    ids.ORG_STATE: "Greater London",
    ids.ORG_CITY: "London",
    ids.ORG_STREET: "1 Example Street",
    ids.ORG_POSTAL_CODE: "EC1A 1AA",
    ids.ORG_PHONE: "+44 20 7946 0000",
}


def register(n: Narrator, *, product: str, domain_type: str, count: int) -> str:
    """Alice registers a purchase through /cert new; return its order ID."""
    n.command(ALICE, "new")
    n.submit(
        ALICE,
        {
            ids.PRODUCT: product,
            ids.DOMAIN_TYPE: domain_type,
            ids.DOMAIN_COUNT: str(count),
            ids.VALIDITY: "90",
        },
    )
    n.show_dms(ALICE)
    return n.latest_ref(ALICE)


def confirm(n: Narrator) -> None:
    n.show_view(ALICE)
    n.submit(ALICE, {}, say="presses [Submit for review]")
    n.show_dms(ALICE)


def approve(n: Narrator, ref: str) -> None:
    """Carol approves the application waiting for her."""
    n.show_dms(CAROL)
    request = n.wait(lambda: n.dm_with(CAROL, ids.APPROVE, containing=ref), what="the request")
    n.click(CAROL, ids.APPROVE, request, "Approve")
    n.show_dms(CAROL)


def state_of(n: Narrator, ref: str) -> str:
    with n.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        return order.state


def simulated_journey(n: Narrator) -> None:
    """Every step of the seed document, on the simulated CA."""
    n.title("Alice asks certdesk what it does")
    n.command(ALICE, "help")

    n.title("Alice registers a DV certificate for three domains she bought")
    dv = register(n, product="dv", domain_type="multi", count=3)

    n.title(f"Alice completes {dv}: one domain mistyped, then corrected")
    n.command(ALICE, f"complete {dv}")
    n.show_view(ALICE)
    typed = {
        ids.DOMAINS: "example.com\nwww.example.com\nshop.exa_mple.com",
        **APPLICANT,
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "p256",
    }
    n.submit(ALICE, typed)
    n.submit(ALICE, {**typed, ids.DOMAINS: "example.com\nwww.example.com\nshop.example.com"})
    confirm(n)

    n.title("The CA reviews it and emails the applicant mailbox; certdesk reminds Alice")
    n.wait(lambda: n.dm_with(ALICE, ids.CHECK_NOW, containing=dv), what="the first reminder")
    n.show_dms(ALICE)
    ca_ref = _ca_ref(n, dv)
    mail_dir = Path(n.services.settings.data_dir) / "mail"
    email = mailer.read_messages(mail_dir, ca_ref=ca_ref)[-1]
    print(f"\n  In the Maildir {mail_dir}, a message to {email['To']}:")
    print(f"    From: {email['From']}\n    Subject: {email['Subject']}")
    n.note("nobody follows the link yet, so another reminder comes")
    first = len([m for m in n.emulator.dms_to(ALICE) if ids.CHECK_NOW in str(m.blocks)])
    n.wait(
        lambda: (
            len([m for m in n.emulator.dms_to(ALICE) if ids.CHECK_NOW in str(m.blocks)]) > first
        ),
        what="the second reminder",
    )
    n.show_dms(ALICE)

    n.title("Alice follows the link in the CA's email; the certificate is issued")
    link = mailer.verification_links(mail_dir, ca_ref=ca_ref)[-1]
    page = browser.open_page(link)
    print(f"\n  Alice opens {link}\n    The page says: {page.text}  [Confirm]")
    page = browser.press_button(page)
    print(f"\n  Alice presses [Confirm].\n    The page says: {page.text}")
    n.wait(lambda: state_of(n, dv) == "issued", what="issuance")
    n.wait(lambda: n.dm_with(ALICE, ids.DOWNLOAD_KEY, containing=dv), what="the issuance DM")
    n.settle()
    n.show_dms(ALICE)

    n.title("Alice downloads the private key, passphrase-protected, into her DM")
    issued = n.dm_with(ALICE, ids.DOWNLOAD_KEY, containing=dv)
    assert issued is not None
    n.click(ALICE, ids.DOWNLOAD_KEY, issued, "Download private key")
    n.show_view(ALICE)
    n.submit(
        ALICE,
        {
            ids.KEY_FORMAT: "pem_encrypted",
            ids.KEY_PASSPHRASE: "correct horse battery staple",
            ids.KEY_PASSPHRASE_AGAIN: "correct horse battery staple",
        },
    )
    n.wait(lambda: [f for f in n.emulator.files if f.filename.endswith(".key.pem")], what="key")
    n.show_dms(ALICE)

    n.title("Alice uploads her own CSR for a second order; a weak one is refused first")
    upload = register(n, product="dv", domain_type="single", count=1)
    n.command(ALICE, f"complete {upload}")
    weak_key = _rsa_1024_key()
    good_key = crypto.generate_key("p256")
    typed = {
        ids.DOMAINS: "api.example.com",
        **APPLICANT,
        ids.CSR_METHOD: "upload",
        ids.CSR_TEXT: _csr(weak_key, "api.example.com"),
    }
    n.submit(ALICE, typed)
    n.submit(
        ALICE, {**typed, ids.CSR_TEXT: crypto.make_csr(good_key, ["api.example.com"]).decode()}
    )
    confirm(n)

    n.title(
        f"A large order: Alice attaches {MAX_DOMAINS} names as a file; a bad line is pointed out"
    )
    large = register(n, product="dv", domain_type="multi", count=MAX_DOMAINS)
    n.command(ALICE, f"complete {large}")
    names = [f"app{i:03d}.example.com" for i in range(MAX_DOMAINS)]
    form = {**APPLICANT, ids.CSR_METHOD: "system", ids.KEY_ALGORITHM: "p256"}
    typo = [*names[:6], "app006..example.com", *names[7:]]
    n.submit(ALICE, {**form, ids.DOMAINS_FILE: _names_file(typo)})
    n.submit(ALICE, {**form, ids.DOMAINS_FILE: _names_file(names)})
    n.note(
        f"the confirmation lists all {MAX_DOMAINS} names, in sections Slack accepts; Alice submits"
    )
    n.submit(ALICE, {}, say="presses [Submit for review]")
    n.show_dms(ALICE)

    n.title("Alice registers an OV (Professional) certificate and types UK for the country")
    ov = register(n, product="ov", domain_type="single", count=1)
    n.command(ALICE, f"complete {ov}")
    org = {
        ids.DOMAINS: "portal.example.com",
        **APPLICANT,
        **ORGANIZATION,
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "rsa2048",
    }
    n.submit(ALICE, org)
    n.submit(ALICE, {**org, ids.ORG_COUNTRY: "GB"})
    confirm(n)

    n.title(f"{ov} names the company, so Carol must approve it first; she sends it back")
    n.note("CERTDESK_APPROVAL defaults to ov,ev; CERTDESK_APPROVERS names Carol")
    n.show_dms(CAROL)
    request = n.wait(lambda: n.dm_with(CAROL, ids.REJECT, containing=ov), what="the request")
    n.click(CAROL, ids.REJECT, request, "Reject…")
    n.show_view(CAROL)
    reason = "The registered legal name is “Example Widgets Limited”, not “Ltd”."
    n.submit(CAROL, {ids.APPROVAL_REASON: reason})
    n.show_dms(CAROL)
    n.show_dms(ALICE)

    n.title(f"Alice revises {ov}; Carol approves the new application and it goes to the CA")
    sent_back = n.wait(lambda: n.dm_with(ALICE, ids.REVISE, containing=ov), what="the rejection")
    n.click(ALICE, ids.REVISE, sent_back, "Revise and resubmit")
    org = {**org, ids.ORG_COUNTRY: "GB", ids.ORG_LEGAL_NAME: "Example Widgets Limited"}
    n.submit(ALICE, org)
    confirm(n)
    approve(n, ov)
    n.wait(lambda: state_of(n, ov) != "awaiting_approval", what="the approval")
    n.show_dms(ALICE)

    n.title("A rejection: the CA turns an order down; Alice sees why and can revise")
    n.note("the simulated CA rejects organizations whose name starts with 'reject-'")
    rejected = register(n, product="ov", domain_type="single", count=1)
    n.command(ALICE, f"complete {rejected}")
    n.submit(
        ALICE,
        {
            **org,
            ids.DOMAINS: "intranet.example.com",
            ids.ORG_COUNTRY: "GB",
            ids.ORG_LEGAL_NAME: "reject-Example Widgets",
        },
    )
    confirm(n)
    approve(n, rejected)
    n.wait(lambda: state_of(n, rejected) == "failed", what="the rejection")
    n.wait(lambda: n.dm_with(ALICE, ids.REVISE, containing=rejected), what="the failure DM")
    n.show_dms(ALICE)

    n.title("Alice lists her orders; Bob sees none of them and cannot peek")
    n.command(ALICE, "list")
    n.command(BOB, "list")
    n.command(BOB, f"status {dv}")

    n.title(f"Sixty days later: {dv} expires in 30 days, and certdesk offers to renew")
    with n.services.sessions.begin() as session:
        order = queries.get_order(session, int(dv[3:]))
        assert order is not None and order.not_after is not None
        not_after = order.not_after
    n.note(f"the demo moves the reminder clock to {not_after - timedelta(days=30):%Y-%m-%d}")
    send_due(n.services, worker_id="demo", now=not_after - timedelta(days=29, hours=23))
    n.wait(lambda: n.dm_with(ALICE, ids.RENEW, containing="expires"), what="the expiry reminder")
    n.show_dms(ALICE)


def _names_file(names: list[str]) -> dict[str, object]:
    """A names.txt Alice picks in the modal's file input (the emulator stores and serves it)."""
    return {"filename": "names.txt", "content": ("\n".join(names) + "\n").encode()}


def _ca_ref(n: Narrator, ref: str) -> str:
    with n.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None and order.ca_ref
        return order.ca_ref


def _rsa_1024_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _csr(key_pem: bytes, name: str) -> str:
    """A CSR signed by ``key_pem`` (make_csr refuses weak keys, so build it directly)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()
