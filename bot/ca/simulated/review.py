"""What the simulated CA checks at submission and decides at the end of its review."""

from __future__ import annotations

from bot.ca.base import Submission
from bot.crypto.csr import check_csr_names, country_problem, load_csr
from bot.errors import CAError, CSRError
from bot.products import needs_organization

PRODUCTS = ("dv", "ov", "ev")
#: Names starting with this are rejected after review, so demos can show a failure.
REJECT_PREFIX = "reject-"


def check_submission(submission: Submission) -> None:
    """Refuse a submission the way a CA's order API would; raise CAError (not retryable)."""
    problems = []
    if submission.product not in PRODUCTS:
        problems.append(
            f"The product “{submission.product}” is not one this CA sells (dv, ov or ev)."
        )
    if not submission.domains:
        problems.append("The order lists no domains.")
    if not submission.applicant_email or "@" not in submission.applicant_email:
        problems.append("The applicant email is missing; the CA writes to it to verify domains.")
    org = submission.organization
    if needs_organization(submission.product):
        if org is None:
            problems.append(
                f"An {submission.product.upper()} certificate needs the organization's details."
            )
        elif problem := country_problem(org.country):
            problems.append(problem.replace("The country (C)", "The organization's country"))
    if problems:
        raise CAError(" ".join(problems))
    try:
        info = load_csr(submission.csr_pem)
        check_csr_names(info, submission.domains)
    except CSRError as exc:
        raise CAError(f"The CA refused the CSR: {exc}") from None


def review_decision(submission: Submission) -> str | None:
    """The reason the review rejects this submission, or None if it passes."""
    org = submission.organization
    if org is not None and org.legal_name.lower().startswith(REJECT_PREFIX):
        return (
            f"The organization name “{org.legal_name}” does not match the legal name in the "
            f"business registry for {org.country} (no registered organization of that name "
            f"in {org.city}). Enter the organization's exact registered legal name, as on its "
            "registration certificate, and resubmit."
        )
    first = submission.domains[0] if submission.domains else ""
    if first.lower().startswith(REJECT_PREFIX):
        return (
            f"The domain {first} was flagged by the CA's high-risk domain check and the "
            "applicant could not be confirmed as authorised to request it. Remove the "
            "domain, or ask its registrant to confirm the request, and resubmit."
        )
    return None
