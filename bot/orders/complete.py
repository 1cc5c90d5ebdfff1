"""Completing an order's information: drafts, checks, saving, and submitting for review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import workflow
from bot.access import Need
from bot.application_form import (
    DOMAINS_FILE,
    Application,
    UploadedFile,
    check_application,
    fit_in_box,
)
from bot.csr_method import CSRMethod, certdesk_makes_key
from bot.domains import Listed
from bot.errors import FieldErrors, IllegalTransition
from bot.orders import approval, transitions
from bot.orders.csr_file import with_csr_file
from bot.orders.domains_file import KEPT_CHANGED, attached_names
from bot.orders.lookup import load
from bot.services import Services
from storage import queries
from storage.models import Contact, Draft, Order, OrderDomain, Organization, format_ref, utcnow

#: Draft values worth keeping: strings typed or chosen, never file contents.
_MAX_DRAFT_VALUE = 10_000


@dataclass(frozen=True)
class Editing:
    """What the Complete modal needs: the order, the values to prefill, saved organizations,
    and the names kept aside because they do not fit Slack's text box."""

    order: Order
    values: dict[str, Any]
    saved_orgs: Sequence[Organization]
    kept: Listed | None = None


def open_for_editing(services: Services, order_id: int, *, user_id: str) -> Editing:
    """The order and its latest values, if the user may edit it now."""
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_editable(order, revising=True)
        values, kept = _on_screen(session.get(Draft, order_id), order)
        orgs = queries.organizations_of(session, order.team_id)
        return Editing(order=order, values=values, saved_orgs=orgs, kept=kept)


def _on_screen(draft: Draft | None, order: Order) -> tuple[dict[str, Any], Listed | None]:
    """The values the modal prefills and the names it shows as kept: the draft, or the order."""
    if draft is None:
        return fit_in_box(values_from_order(order), None)
    values = {k: v for k, v in draft.data.items() if k != DOMAINS_FILE}
    return fit_in_box(values, Listed.from_data(draft.data.get(DOMAINS_FILE)))


def _kept(draft: Draft | None, order: Order, shown: str | None) -> Listed | None:
    """The kept names the submitted modal showed (by their digest); None if it showed none.

    Raises FieldErrors when certdesk no longer holds the names shown."""
    if not shown:
        return None
    candidates = [
        Listed.from_data(draft.data.get(DOMAINS_FILE)) if draft else None,
        _on_screen(draft, order)[1],
        fit_in_box(values_from_order(order), None)[1],  # revising, after a new file replaced them
    ]
    for listed in candidates:
        if listed is not None and listed.digest == shown:
            return listed
    raise FieldErrors({DOMAINS_FILE: KEPT_CHANGED})


def values_from_order(order: Order) -> dict[str, Any]:
    """The modal's values as last saved on the order (for revising or renewing)."""
    values: dict[str, Any] = {
        "domains": "\n".join(d.display for d in order.domains),
        "csr_method": order.csr_method or CSRMethod.GENERATED,
        "key_algorithm": order.key_algorithm,
    }
    if order.registration_number:
        values["org_registration_number"] = order.registration_number
    if order.applicant:
        values |= {
            "applicant_name": order.applicant.name,
            "applicant_email": order.applicant.email,
            "applicant_phone": order.applicant.phone,
        }
    if order.organization_id:
        values["saved_org"] = str(order.organization_id)
    if order.csr_method == CSRMethod.UPLOADED and order.csr_pem:
        values["csr_text"] = order.csr_pem
    return values


def save_draft(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    raw: Mapping[str, Any],
    kept_shown: str | None = None,
) -> Listed | UploadedFile | None:
    """Keep what the person typed, valid or not, so the modal reopens with it.

    Names from an attached file are kept too (they replace the kept names the form showed,
    ``kept_shown`` being their digest). Returns the names the form gives beside the box:
    the file's, or the kept ones; an UploadedFile saying why a file could not be used.
    """
    data: dict[str, Any] = {
        k: v
        for k, v in raw.items()
        if isinstance(v, str | None) and (v is None or len(v) <= _MAX_DRAFT_VALUE)
    }
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_editable(order, revising=True)
        draft = session.get(Draft, order_id)
        try:
            kept: Listed | UploadedFile | None = _kept(draft, order, kept_shown)
        except FieldErrors:
            kept = UploadedFile("", problem=KEPT_CHANGED)
        if isinstance(kept, Listed):
            data[DOMAINS_FILE] = kept.to_data()
        _write(session, draft, order_id, data, user_id=user_id)
        expected = order.domain_count
    # Downloaded after the access check, outside the transaction: Slack may be slow.
    attached = attached_names(services, raw, expected=expected)
    if isinstance(attached, Listed):
        with services.sessions.begin() as session:
            data[DOMAINS_FILE] = attached.to_data()
            _write(session, session.get(Draft, order_id), order_id, data, user_id=user_id)
    return kept if attached is None else attached


def _write(
    session: Session, draft: Draft | None, order_id: int, data: dict[str, Any], *, user_id: str
) -> None:
    draft = draft or Draft(order_id=order_id, updated_by=user_id)
    draft.data, draft.updated_by = dict(data), user_id
    session.add(draft)


def check_and_save(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    raw: Mapping[str, Any],
    kept_shown: str | None = None,
) -> tuple[Order, Application]:
    """Save the draft, check it, and write a valid application onto the order.

    Raises FieldErrors (keyed by field) when anything is wrong; the draft is kept either way.
    Saving an order that waits for approval withdraws the request: the approvers are told.
    ``kept_shown``: the digest of the kept names the form showed, if it showed any.
    """
    names = save_draft(services, order_id, user_id=user_id, raw=raw, kept_shown=kept_shown)
    withdrawn: int | None = None
    raw = with_csr_file(services, raw)  # after the access check in save_draft
    raw[DOMAINS_FILE] = names
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT, for_update=True)
        saved = {o.id: o.details() for o in queries.organizations_of(session, order.team_id)}
        application = check_application(
            raw,
            product=order.product,
            domain_type=order.domain_type,
            domain_count=order.domain_count,
            saved_orgs=saved,
            csr_methods=csr_methods(services),
            key_algorithms=purchase_key_algorithms(order),
            needs_registration_number=services.ca.needs_registration_number(order.product),
        )
        if order.state == workflow.State.AWAITING_APPROVAL:
            withdrawn = approval.withdraw(session, order, user_id=user_id)
        _apply(session, order, application, user_id=user_id)
        session.flush()
        fresh = queries.get_order(session, order_id)
        assert fresh is not None
    if withdrawn is not None:
        services.background.submit(approval.close_ended, services, order_id, withdrawn, by=user_id)
    return fresh, application


def submit(services: Services, order_id: int, *, user_id: str) -> Order:
    """Move a completed order to `submitted` (the CA is contacted after the ack), or to wait
    for approval when the policy says its product needs one (the approvers are asked after)."""
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        needs = services.needs_approval(order.product, order.team_id)
        requester = order.requester_id
    # Resolving user groups asks Slack: done before the transaction, never under its lock.
    approvers = approval.approvers_for(services, requester) if needs else None
    try:
        return _submit(services, order_id, user_id=user_id, approvers=approvers)
    except StaleDataError:
        # Someone changed the order between our read and our write (a double-click on Submit,
        # where the other click won): decide again on what is there now.
        return _submit(services, order_id, user_id=user_id, approvers=approvers)


def _submit(
    services: Services, order_id: int, *, user_id: str, approvers: tuple[str, ...] | None
) -> Order:
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT, for_update=True)
        if not order.domains or order.applicant is None or not order.csr_method:
            raise FieldErrors({"domains": "Complete the information before submitting."})
        event = (
            workflow.Event.RESUBMIT
            if order.state == workflow.State.FAILED
            else workflow.Event.SUBMIT
        )
        try:
            if approvers is not None and order.state in workflow.EDITABLE:
                approval.ask(session, services, order, user_id=user_id, approvers=approvers)
            else:
                transitions.apply(session, order, event, actor=user_id, now=utcnow())
        except IllegalTransition:
            raise IllegalTransition(
                f"{order.ref} is {workflow.describe(order.state)}, so it cannot be submitted "
                f"now (was Submit pressed twice?). `/cert status {order.ref}` shows where it "
                "stands."
            ) from None
        if certdesk_makes_key(order.csr_method):
            order.csr_pem = None  # a fresh key and CSR are made for every submission
        session.flush()
        fresh = queries.get_order(session, order_id)
        assert fresh is not None
        return fresh


def csr_methods(services: Services) -> tuple[str, ...]:
    """The CSR methods the configured CA takes."""
    if services.ca.generates_keys:
        return (CSRMethod.GENERATED, CSRMethod.CA_GENERATED, CSRMethod.UPLOADED)
    return (CSRMethod.GENERATED, CSRMethod.UPLOADED)


def purchase_key_algorithms(order: Order) -> tuple[str, ...] | None:
    """The key algorithms the order's CA purchase accepts; None when it names none."""
    if not order.purchase_key_algorithms:
        return None
    return tuple(a for a in order.purchase_key_algorithms.split(",") if a)


def _require_editable(order: Order, *, revising: bool = False) -> None:
    if order.state not in (workflow.REVISABLE if revising else workflow.EDITABLE):
        raise IllegalTransition(
            f"{format_ref(order.id)} is {workflow.describe(order.state)}; its information "
            "can only be changed before it is submitted or after the CA turned it down."
        )


def _apply(session: Session, order: Order, application: Application, *, user_id: str) -> None:
    _require_editable(order)
    before = values_from_order(order)
    order.domains.clear()
    session.flush()  # the unique (order, name) constraint must see the old rows gone
    order.domains.extend(
        OrderDomain(position=i, name=d.ascii, display=d.display)
        for i, d in enumerate(application.domains)
    )
    applicant = application.applicant
    if order.applicant is None:
        order.applicant = Contact(name=applicant.name, email=applicant.email, phone=applicant.phone)
    else:
        order.applicant.name = applicant.name
        order.applicant.email = applicant.email
        order.applicant.phone = applicant.phone
    if application.organization is None:
        order.organization_id = None
    elif application.saved_org_id is not None:
        order.organization_id = application.saved_org_id
    else:
        org = Organization(
            team_id=order.team_id, created_by=user_id, **vars(application.organization)
        )
        session.add(org)
        session.flush()
        order.organization_id = org.id
    order.csr_method = application.csr_method
    order.key_algorithm = application.key_algorithm
    order.registration_number = application.registration_number or None
    order.csr_pem = application.csr_pem.decode() if application.csr_pem else None
    after = values_from_order(order)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    queries.record(
        session, order_id=order.id, actor=user_id, action="application_saved", changed=changed
    )
