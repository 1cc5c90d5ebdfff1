"""Problem documents become sentences a person can act on."""

from __future__ import annotations

from acme import messages

from bot.ca.acme.problems import describe_problem, validation_failure


def problem(code: str, detail: str | None = None, **extra: object) -> messages.Error:
    return messages.Error.with_code(code, detail=detail, **extra)


def test_describe_problem_leads_with_meaning_then_detail() -> None:
    text = describe_problem(problem("rateLimited", "too many certificates for example.com"))
    assert text == (
        "The CA's rate limit was reached; try again later (too many certificates for example.com)."
    )


def test_describe_problem_lists_subproblems_per_name() -> None:
    sub = messages.Error.from_json(
        {
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "policy forbids issuing for name",
            "identifier": {"type": "dns", "value": "bad.example"},
        }
    )
    text = describe_problem(problem("rejectedIdentifier", "some names refused", subproblems=(sub,)))
    assert "bad.example: policy forbids issuing for name" in text


def test_unknown_problem_type_falls_back_to_title() -> None:
    odd = messages.Error(typ="urn:example:weird", title="Weird thing", detail="it broke")
    assert describe_problem(odd) == "Weird thing (it broke)."


def test_caa_failure_says_what_to_change() -> None:
    reason = validation_failure(
        method="dns-01", domain="x.example", problem=problem("caa", "CAA forbids"), record_name="_"
    )
    assert reason.startswith("The CA refused x.example because of its CAA records (CAA forbids).")


def test_http_connection_failure_points_at_port_80() -> None:
    reason = validation_failure(
        method="http-01",
        domain="x.example",
        problem=problem("connection", "connection refused"),
        url="http://x.example/.well-known/acme-challenge/t",
    )
    assert "could not fetch http://x.example/.well-known/acme-challenge/t" in reason
    assert "port 80" in reason


def test_dns_lookup_failure_is_not_blamed_on_the_record() -> None:
    reason = validation_failure(
        method="dns-01",
        domain="x.example",
        problem=problem("dns", "SERVFAIL"),
        record_name="_acme-challenge.x.example",
    )
    assert "could not look up the TXT record _acme-challenge.x.example" in reason
