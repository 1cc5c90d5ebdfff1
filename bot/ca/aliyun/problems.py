"""Turn Alibaba Cloud error codes into sentences that say who must do what."""

from __future__ import annotations

from dataclasses import dataclass

#: Codes that may succeed unchanged a little later.
RETRYABLE_PREFIXES = ("Throttling", "ServiceUnavailable", "InternalError", "SignatureNonceUsed")
RETRYABLE_CODES = frozenset({"ServiceUnavailable", "InternalError", "UnknownError", "Timeout"})
#: The instance is in a state that does not allow the call (e.g. withdrawing right after applying).
STATUS_NOT_SUPPORTED = "OperationDenied.StatusNotSupport"


@dataclass(frozen=True)
class Problem:
    """One error answer from the API, as the SDK reported it."""

    action: str  # the API operation, e.g. UpdateInstance
    code: str
    message: str  # the service's own Message
    status: int  # HTTP status
    request_id: str = ""


def is_retryable(problem: Problem) -> bool:
    """Whether the same call may succeed later (throttling, 5xx)."""
    return (
        problem.status >= 500
        or problem.status == 429
        or problem.code in RETRYABLE_CODES
        or problem.code.startswith(RETRYABLE_PREFIXES)
    )


def describe(problem: Problem, *, doing: str, access_key_id: str) -> str:
    """A sentence for the requester or the operator; the request id only as a reference."""
    code, action = problem.code, problem.action
    ref = f" (Alibaba Cloud request {problem.request_id})" if problem.request_id else ""
    said = problem.message.rstrip(".")
    if code.startswith("InvalidAccessKeyId"):
        return (
            f"Alibaba Cloud does not recognise the AccessKey ID {access_key_id} certdesk uses "
            f"({code}). The operator must set ALIBABA_CLOUD_ACCESS_KEY_ID to an active "
            f"AccessKey of a RAM user (RAM console → Users → AccessKey) and restart certdesk{ref}."
        )
    if code in ("SignatureDoesNotMatch", "IncompleteSignature"):
        return (
            f"Alibaba Cloud refused certdesk's credentials: the AccessKey secret does not match "
            f"AccessKey ID {access_key_id} ({code}). The operator must set "
            f"ALIBABA_CLOUD_ACCESS_KEY_SECRET to the secret shown when that AccessKey was "
            f"created and restart certdesk{ref}."
        )
    if code.startswith("InvalidTimeStamp"):
        return (
            f"Alibaba Cloud refused the request because this server's clock is off by more "
            f"than 15 minutes ({code}). The operator must fix the system clock (NTP){ref}."
        )
    if code.startswith(("Forbidden", "NoPermission")) or problem.status == 403:
        return (
            f"The RAM user behind AccessKey {access_key_id} may not call {action} ({code}). "
            f"The operator must grant it yundun-cert:{action}; docs/aliyun.md lists the "
            f"minimal policy certdesk needs{ref}."
        )
    if code.startswith("Throttling"):
        return (
            f"Alibaba Cloud is limiting how often this account may call {action} ({code}); "
            f"certdesk will try to {doing} again shortly{ref}."
        )
    if code == STATUS_NOT_SUPPORTED:
        return (
            f"The Alibaba Cloud instance is not in a state that allows this: could not {doing} "
            f"({said}). Check the instance on the Alibaba Cloud console{ref}."
        )
    if code.startswith(("InvalidParameter.Domain", "InvalidParameter.Csr", "Domain")):
        return (
            f"The CA refused the application's domains: {said}. Revise the domains (or the "
            f"CSR) and submit again{ref}."
        )
    if code.startswith("InvalidParameter.KeyAlgorithm"):
        return f"The CA refused the key algorithm: {said}. Pick another and submit again{ref}."
    if code.startswith(("NotFound", "InvalidInstance")) or problem.status == 404:
        return (
            f"Alibaba Cloud has no such record for this account ({code}: {said}). Check that "
            f"the instance was bought with the account whose AccessKey certdesk uses{ref}."
        )
    if is_retryable(problem):
        return (
            f"Alibaba Cloud could not {doing} just now ({code}: {said}); certdesk will try "
            f"again later{ref}."
        )
    return f"Alibaba Cloud refused to {doing}: {said} ({code}){ref}."
