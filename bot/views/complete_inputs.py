"""The Complete modal's inputs that need care with Slack's limits: text boxes, the domains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block, InputBlock, PlainTextInputElement
from slack_sdk.models.blocks.block_elements import FileInputElement

from bot.application_form import TEXT_BOX
from bot.domains import Listed
from bot.views import ids
from bot.views.common import context, esc, plain, section
from storage.models import Order

#: At most this many sections list the domains in the confirmation (a modal holds 100 blocks).
MAX_NAME_SECTIONS = 60


def text_input(
    block_id: str,
    label: str,
    values: Mapping[str, Any],
    *,
    hint: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    max_length: int | None = None,
) -> InputBlock:
    """A text input prefilled from ``values``, never with more than Slack's box holds."""
    initial = values.get(block_id)
    if isinstance(initial, str) and len(initial) > min(max_length or TEXT_BOX, TEXT_BOX):
        initial = None  # Slack refuses a whole modal whose prefilled value is too long
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        hint=plain(hint) if hint else None,
        optional=optional,
        element=PlainTextInputElement(
            action_id=block_id,
            multiline=multiline,
            initial_value=initial if isinstance(initial, str) and initial else None,
            placeholder=plain(placeholder) if placeholder else None,
            max_length=max_length,
        ),
    )


def domain_blocks(order: Order, values: Mapping[str, Any], kept: Listed | None) -> list[Block]:
    """The Domains box and, for more than one name, a file of names and what is kept of one."""
    count = order.domain_count
    if count == 1:
        hint = _domain_hint(order)
        return [
            text_input(ids.DOMAINS, "Domains", values, placeholder="www.example.com", hint=hint)
        ]
    blocks: list[Block] = [
        text_input(
            ids.DOMAINS,
            f"Domains ({count}, one per line)",
            values,
            multiline=True,
            # Names may come in a file instead; an empty form gets a clear error from certdesk.
            optional=True,
            placeholder="example.com\nwww.example.com",
            hint=_domain_hint(order) + " Or attach them as a file below.",
        ),
    ]
    if kept is not None:
        names = [name for _, name in kept.entries]
        first = ", ".join(f"`{esc(n[:60])}`" for n in names[:3])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        blocks.append(
            context(
                f":paperclip: *{len(names)} names from {esc(kept.label)} are kept* ({first}{more})"
                ": they are too many to show in the box. Names typed above are added to them; "
                "attach a new file below to replace them."
            )
        )
    blocks.append(
        InputBlock(
            block_id=ids.DOMAINS_FILE,
            label=plain("…or the names as a file" if kept is None else "…or a new file of names"),
            optional=True,
            hint=plain(
                "A .txt or .csv file: one name per line, or separated by commas or spaces; a "
                "header row is fine. Names typed above are added to the file's."
            ),
            element=FileInputElement(
                action_id=ids.DOMAINS_FILE, filetypes=["txt", "csv"], max_files=1
            ),
        )
    )
    return blocks


def _domain_hint(order: Order) -> str:
    if order.domain_type == "wildcard":
        return "A wildcard covers one level, like *.example.com. Names in any script are fine."
    return f"Exactly {order.domain_count} as bought. Names in any script are fine."


def names_sections(title: str, lines: Sequence[str]) -> list[Block]:
    """``lines`` under ``title`` in as many sections as their length needs, every one shown
    (a person checks each name before it goes to the CA), within Slack's 3,000 per section."""
    sections: list[list[str]] = [[title]]
    size = len(title)
    for line in lines:
        if size + 1 + len(line) > 3000:
            sections.append([])
            size = -1
        sections[-1].append(line)
        size += 1 + len(line)
    if len(sections) > MAX_NAME_SECTIONS:
        hidden = sum(len(s) for s in sections[MAX_NAME_SECTIONS:])
        sections = sections[:MAX_NAME_SECTIONS]
        sections[-1][-1] = f"…and {hidden + 1} more"
    return [section("\n".join(s)) for s in sections]
