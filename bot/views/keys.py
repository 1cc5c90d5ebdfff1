"""The private-key surfaces: the download modal, the delivery DM, and the purge confirmation."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
)
from slack_sdk.models.views import View

from bot.key_download import MIN_PASSPHRASE, PEM_ENCRYPTED, PEM_PLAIN, PFX, formats_for
from bot.views import ids
from bot.views.common import button, context, esc, notice_modal, plain, section
from storage.models import Order

FORMAT_LABELS = {
    PFX: "PFX / PKCS#12 with the certificate chain (Windows, Java)",
    PEM_ENCRYPTED: "PEM with a passphrase (PKCS#8; nginx, Apache)",
    PEM_PLAIN: "PEM without a passphrase (not recommended)",
}


def metadata(order_id: int) -> str:
    """private_metadata naming the order a key modal belongs to."""
    return json.dumps({"order_id": order_id})


def download_modal(order: Order) -> View:
    """Ask how the key should be packed: format, passphrase twice, or the plain-key warning."""
    offered = formats_for(issued=bool(order.certificate_pem))
    choices = [Option(value=f, label=FORMAT_LABELS[f]) for f in offered]
    blocks: list[Block] = [
        section(
            f"The private key of *{order.ref}* will arrive as a file in your DM with certdesk, "
            "and nowhere else. Keep it safe: without it the certificate is useless, and "
            "anyone who has it can pretend to be your site."
        ),
        InputBlock(
            block_id=ids.KEY_FORMAT,
            label=plain("Format"),
            element=RadioButtonsElement(
                action_id=ids.KEY_FORMAT, options=choices, initial_option=choices[0]
            ),
        ),
    ]
    if PFX not in offered:
        blocks.append(context("PFX (key and certificate together) is offered once the CA issues."))
    blocks += [
        _secret_input(
            ids.KEY_PASSPHRASE,
            "Passphrase",
            hint=f"At least {MIN_PASSPHRASE} characters. certdesk does not keep it: if you "
            "forget it, download the key again with a new one.",
        ),
        _secret_input(ids.KEY_PASSPHRASE_AGAIN, "Passphrase again", hint=None),
        InputBlock(
            block_id=ids.KEY_PLAIN_OK,
            label=plain("Only for PEM without a passphrase"),
            optional=True,
            element=CheckboxesElement(
                action_id=ids.KEY_PLAIN_OK,
                options=[
                    Option(
                        value="yes",
                        label="I understand: anyone with a copy can impersonate my site",
                        description="The file will not be protected by a passphrase.",
                    )
                ],
            ),
        ),
        context(
            "Slack shows what you type in these boxes; nobody else sees this dialog. "
            "The file is removed from Slack automatically after a while, or when you say so."
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.KEY_DOWNLOAD,
        private_metadata=metadata(order.id),
        title=plain("Download private key"),
        submit=plain("Send me the key"),
        close=plain("Cancel"),
        blocks=blocks,
    )


def _secret_input(block_id: str, label: str, *, hint: str | None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        optional=True,  # not needed for the unencrypted format; checked on submit
        hint=plain(hint) if hint else None,
        element=PlainTextInputElement(action_id=block_id, max_length=200),
    )


def key_delivered_message(
    *,
    ref: str,
    order_id: int,
    file_row: int,
    filename: str,
    delete_after: datetime | None,
    fmt: str,
) -> tuple[str, list[Block]]:
    """The DM that goes with the key file: when it disappears, and the two ways to remove it."""
    when = _when(delete_after)
    protection = (
        "It is *not* protected by a passphrase: move it to your server and delete it here."
        if fmt == PEM_PLAIN
        else "It is protected by the passphrase you chose."
    )
    text = (
        f"The private key of {ref} is in the file {esc(filename)} above. "
        f"certdesk deletes it from Slack {when}."
    )
    blocks: list[Block] = [
        section(
            f":key: The private key of *{ref}* is in `{esc(filename)}` above. {protection}\n"
            f"certdesk deletes this file from Slack {when}."
        ),
        context(
            "*Purge* erases the key from certdesk too: after that nobody, not you and not an "
            "admin, can download it again. Purge only once the key is safely installed."
        ),
        ActionsBlock(
            elements=[
                button("Delete this file from Slack", ids.DELETE_KEY_FILE, str(file_row)),
                button("Purge the key from certdesk", ids.PURGE_KEY, str(order_id), style="danger"),
            ]
        ),
    ]
    return text, blocks


def _when(at: datetime | None) -> str:
    if at is None:
        return "when you delete it"
    return f"at {at:%Y-%m-%d %H:%M} UTC"


def purge_modal(order: Order) -> View:
    """Ask the owner to confirm purging the key, saying plainly it cannot be undone."""
    warning = (
        f"After purging, *nobody can download the private key of {order.ref} again* — not "
        "you, not an admin, not certdesk. The copy you downloaded becomes the only one; if "
        "it is lost, the certificate cannot be used and you need a new key and certificate."
    )
    blocks: list[Block] = [section(warning)]
    return View(
        type="modal",
        callback_id=ids.CONFIRM_PURGE_KEY,
        private_metadata=metadata(order.id),
        title=plain("Purge private key?"),
        submit=plain("Purge the key"),
        close=plain("Keep it"),
        blocks=blocks,
    )


def preparing_modal(ref: str) -> View:
    """Shown after the download request is accepted, while the file is made."""
    return notice_modal(
        "Preparing your key",
        f":hourglass_flowing_sand: The private key of *{ref}* is on its way to your DM with "
        "certdesk. Only you receive it.",
    )
