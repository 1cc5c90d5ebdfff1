"""Turn ACME problem documents (RFC 8555 §6.7) into sentences a person can act on."""

from __future__ import annotations

from acme import messages

from bot.ca.base import CAState, CAStatus

_ENDED = (messages.STATUS_DEACTIVATED, messages.STATUS_REVOKED)

#: What each problem type means for the person, when the CA's detail alone is too terse.
_PLAIN = {
    "badCSR": "the certificate request (CSR) was rejected",
    "badSignatureAlgorithm": "the signature algorithm is not accepted",
    "badPublicKey": "the key in the certificate request is not accepted",
    "caa": "the domain's CAA records do not allow this CA to issue",
    "connection": "the CA could not connect to the server",
    "dns": "the CA's DNS lookup failed",
    "incorrectResponse": "the response the CA found did not match",
    "malformed": "the request was malformed",
    "orderNotReady": "the order is not ready for that step yet",
    "rateLimited": "the CA's rate limit was reached; try again later",
    "rejectedIdentifier": "the CA will not issue for this name",
    "serverInternal": "the CA had an internal error; try again later",
    "unauthorized": "the request was not authorized",
    "unsupportedIdentifier": "this kind of name is not supported",
    "accountDoesNotExist": "the ACME account does not exist",
    "alreadyRevoked": "the certificate is already revoked",
    "externalAccountRequired": "the CA requires an external account binding",
}


def describe_problem(problem: messages.Error) -> str:
    """One sentence for a problem document: what it means, then the CA's own detail."""
    code = problem.code or ""
    plain = _PLAIN.get(code) or problem.title or code or "an unknown error"
    detail = (problem.detail or "").strip()
    text = f"{plain} ({detail})" if detail and detail not in plain else plain
    for sub in problem.subproblems or ():
        who = f"{sub.identifier.value}: " if sub.identifier else ""
        text += f"; {who}{sub.detail or sub.code or sub.typ}"
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def validation_failure(
    *,
    method: str,
    domain: str,
    problem: messages.Error | None,
    record_name: str | None = None,
    url: str | None = None,
) -> str:
    """Why validating ``domain`` failed, and what to do, for the FAILED status reason."""
    code = problem.code if problem is not None else None
    detail = f" ({problem.detail})" if problem is not None and problem.detail else ""
    if code == "caa":
        return (
            f"The CA refused {domain} because of its CAA records{detail}. Add a CAA record "
            "that allows this CA (or remove the one naming another CA) and submit again."
        )
    if code in ("rejectedIdentifier", "unsupportedIdentifier"):
        return (
            f"The CA will not issue a certificate for {domain}{detail}. "
            "Remove it from the domains and submit again."
        )
    if method == "dns-01":
        if code == "dns":
            return (
                f"The CA could not look up the TXT record {record_name}: the domain's DNS "
                f"did not answer properly{detail}. Check the DNS servers of {domain} "
                "and submit again."
            )
        return (
            f"The CA looked up the TXT record {record_name} and found no matching value"
            f"{detail}. Publish the record shown and submit again."
        )
    if method == "http-01":
        if code in ("connection", "dns"):
            return (
                f"The CA could not fetch {url}{detail}. Make sure {domain} resolves to your "
                "web server and port 80 is open to the internet, then submit again."
            )
        return (
            f"The CA fetched {url} and did not get the expected content{detail}. "
            "Serve the file shown at that address and submit again."
        )
    if problem is not None:
        return f"The CA could not validate {domain}: {describe_problem(problem)}"
    return f"The CA could not validate {domain}. Check what it asked for and submit again."


def order_failure(order: messages.Order, authzs: list[messages.AuthorizationResource]) -> CAStatus:
    """The CAStatus for an order that cannot go on, explained from its problem documents."""
    for authzr in authzs:
        body = authzr.body
        shown = f"*.{body.identifier.value}" if body.wildcard else body.identifier.value
        for challb in body.challenges:
            if challb.error is None:
                continue
            chall = challb.chall
            return CAStatus(
                CAState.FAILED,
                reason=validation_failure(
                    method=chall.typ,
                    domain=shown,
                    problem=challb.error,
                    record_name=(
                        chall.validation_domain_name(body.identifier.value)
                        if chall.typ == "dns-01"
                        else None
                    ),
                    url=chall.uri(body.identifier.value) if chall.typ == "http-01" else None,
                ),
            )
    if any(a.body.status in _ENDED for a in authzs):
        return CAStatus(CAState.CANCELLED, reason="The order was withdrawn.")
    if order.error is not None:
        return CAStatus(
            CAState.FAILED,
            reason=f"The CA could not issue the certificate: {describe_problem(order.error)} "
            "Revise the application and submit again.",
        )
    if any(a.body.status == messages.STATUS_INVALID for a in authzs) or not authzs:
        return CAStatus(
            CAState.FAILED,
            reason="The CA stopped the order without saying why. Submit it again.",
        )
    return CAStatus(
        CAState.FAILED,
        reason="The order expired at the CA before every domain was validated. Submit it again.",
    )
