"""The simulated CA's verification email, written as an RFC 5322 message into a Maildir."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from bot.private_files import private_umask

SENDER = formataddr(("certdesk Simulated CA Validation", "validation@certdesk.invalid"))
#: Header naming the CA order a message belongs to, so tools can find the right email.
ORDER_HEADER = "X-Simulated-CA-Order"
#: Header numbering the emails sent for one order, 1 upwards (Date has one-second resolution).
SEQUENCE_HEADER = "X-Simulated-CA-Sequence"
_LINK = re.compile(r"https?://\S+/sim-ca/verify/[A-Za-z0-9._~-]+")


def subject_for(domains: Sequence[str], *, ca_ref: str) -> str:
    """The subject line: the domains (the first five, then a count) and the CA order."""
    shown = ", ".join(domains[:5])
    if len(domains) > 5:
        shown += f" and {len(domains) - 5} more"
    return f"Action required: confirm control of {shown} (order {ca_ref})"


def write_verification_email(
    mail_dir: Path,
    *,
    ca_ref: str,
    applicant_name: str,
    applicant_email: str,
    domains: Sequence[str],
    link: str,
    sent: datetime,
    expires: datetime,
    sequence: int,
) -> str:
    """Deliver the verification email to the Maildir ``mail_dir``; return its Message-ID."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = formataddr((applicant_name, applicant_email))
    message["Subject"] = subject_for(domains, ca_ref=ca_ref)
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(idstring=ca_ref, domain="certdesk.invalid")
    message[ORDER_HEADER] = ca_ref
    message[SEQUENCE_HEADER] = str(sequence)
    listed = "\n".join(f"  - {d}" for d in domains)
    message.set_content(
        f"Hello {applicant_name or applicant_email},\n\n"
        f"A TLS certificate was requested for these domains (order {ca_ref}):\n\n"
        f"{listed}\n\n"
        "To confirm that you control them and approve the request, open this link:\n\n"
        f"  {link}\n\n"
        f"The link works until {format_datetime(expires)}. If it has been replaced by a newer "
        "email, use the link in the newest one.\n\n"
        "If you did not expect this request, do not open the link; the certificate will "
        "not be issued.\n\n"
        "— certdesk Simulated CA (for demonstrations and tests; it issues untrusted "
        "certificates)\n"
    )
    # The Maildir creates message files with the process umask (often 0644); the email
    # holds the link that proves domain control, so it is private to certdesk's user.
    with private_umask():
        box = mailbox.Maildir(mail_dir, create=True)
        box.add(message)
    return str(message["Message-ID"])


def read_messages(mail_dir: Path, *, ca_ref: str | None = None) -> list[EmailMessage]:
    """Messages in the Maildir (for ``ca_ref`` only, if given), oldest first."""
    if not mail_dir.exists():
        return []
    parser = BytesParser(policy=policy.default)
    found = []
    box = mailbox.Maildir(mail_dir, create=False)
    for key in box.iterkeys():
        parsed = parser.parsebytes(box.get_bytes(key))
        assert isinstance(parsed, EmailMessage)
        if ca_ref is None or parsed[ORDER_HEADER] == ca_ref:
            found.append(parsed)
    # Maildir keys carry no order; Date and then the per-order sequence number do.
    return sorted(found, key=lambda m: (m["Date"].datetime, int(m[SEQUENCE_HEADER] or 0)))


def verification_links(mail_dir: Path, *, ca_ref: str) -> list[str]:
    """The verification links sent for ``ca_ref``, oldest first (the last one is current)."""
    links = []
    for message in read_messages(mail_dir, ca_ref=ca_ref):
        body = message.get_body(preferencelist=("plain",))
        if body is not None:
            links += _LINK.findall(body.get_content())
    return links
