"""Log lines: JSON objects with the context, readable text by default, context set at edges."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot import logs
from bot.background import Background
from bot.config import Settings
from bot.errors import ConfigError
from bot.request_context import order_ref


def _log(fmt: str, message: str, *args: object, exc: bool = False) -> str:
    out = io.StringIO()
    handler = logs.handler(fmt, stream=out)
    logger = logging.getLogger("certdesk.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        if exc:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception(message, *args)
        else:
            logger.info(message, *args)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def test_json_is_one_object_per_line_with_the_context() -> None:
    with logs.bound(order_ref="CD-0042", team="T0001", request_id="abc123"):
        line = _log("json", "order %s moved\non two lines", "CD-0042")
    assert line.count("\n") == 1
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "certdesk.test_logs"
    assert record["message"] == "order CD-0042 moved\non two lines"
    assert (record["order_ref"], record["team"], record["request_id"]) == (
        "CD-0042",
        "T0001",
        "abc123",
    )
    assert record["time"].endswith("+00:00")


def test_json_leaves_unknown_context_out_and_carries_the_traceback() -> None:
    record = json.loads(_log("json", "failed", exc=True))
    assert "order_ref" not in record and "team" not in record
    assert "ValueError: boom" in record["exception"]


def test_text_stays_readable() -> None:
    line = _log("text", "hello %s", "world")
    assert line.rstrip().endswith("INFO certdesk.test_logs: hello world")


def test_bound_context_is_restored() -> None:
    with logs.bound(order_ref="CD-0001"):
        with logs.bound(order_ref="CD-0002"):
            assert logs.current() == {"order_ref": "CD-0002"}
        assert logs.current() == {"order_ref": "CD-0001"}
    assert logs.current() == {}


def test_background_work_keeps_the_context_of_the_request_that_queued_it() -> None:
    background = Background(workers=1)
    try:
        with logs.bound(order_ref="CD-0007", team="T0001"):
            future = background.submit(logs.current)
        assert future.result(timeout=5) == {"order_ref": "CD-0007", "team": "T0001"}
        assert background.submit(logs.current).result(timeout=5) == {}
    finally:
        background.shutdown()


def test_configure_twice_keeps_one_certdesk_handler() -> None:
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    for handler in before:
        root.removeHandler(handler)
    try:
        logs.configure(level="INFO", fmt="json")
        logs.configure(level="DEBUG", fmt="text")
        assert len(root.handlers) == 1 and getattr(root.handlers[0], "certdesk", False)
        assert root.level == logging.DEBUG
        root.removeHandler(root.handlers[0])
        # Logging already set up by someone else (pytest here): theirs stays in charge.
        other = logging.NullHandler()
        root.addHandler(other)
        logs.configure(level="INFO", fmt="json")
        assert root.handlers == [other]
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in before:
            root.addHandler(handler)
        root.setLevel(level)


def test_log_format_setting() -> None:
    assert Settings.load({}).log_format == "text"
    assert Settings.load({"LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT: expected one of text, json"):
        Settings.load({"LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("body", "ref"),
    [
        ({"actions": [{"value": "42"}]}, "CD-0042"),
        ({"view": {"private_metadata": '{"order_id": 7}'}}, "CD-0007"),
        ({"text": "status cd-12"}, "CD-0012"),
        ({"actions": [{"value": "42; DROP TABLE"}]}, None),
        ({"actions": [{"value": "9" * 40}]}, None),
        ({"view": {"private_metadata": "not json"}}, None),
        ({"view": {"private_metadata": '{"order_id": "7\\nforged line"}'}}, None),
        ({"view": {"private_metadata": '{"order_id": true}'}}, None),
        ({"actions": "nonsense", "view": [], "text": 5}, None),
    ],
)
def test_the_order_ref_is_read_only_as_a_number(body: dict, ref: str | None) -> None:
    assert order_ref(body) == ref


def test_a_line_said_per_request_is_said_once_a_minute_with_how_many_were_held() -> None:
    now = [100.0]
    out = io.StringIO()
    handler = logs.handler("text", stream=out)
    logger = logging.getLogger("certdesk.test_logs.every")
    logger.addHandler(handler)
    sparse = logs.AtMostEvery(logger, 60, clock=lambda: now[0])
    try:
        for depth in range(1, 6):  # five in one second: the first is said
            sparse.warning("Task queue depth is %d", depth)
            now[0] += 0.2
        now[0] = 159.0
        sparse.warning("Task queue depth is %d", 6)  # still within the minute: held
        now[0] = 161.0
        sparse.warning("Task queue depth is %d", 7)  # a minute on: said, with the count
        now[0] = 300.0
        sparse.warning("Task queue depth is %d", 8)  # nothing held since: no count
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("Task queue depth is 1")
    assert lines[1].endswith("Task queue depth is 7 (and 5 more like it since the last one)")
    assert lines[2].endswith("Task queue depth is 8")


def test_waitress_warns_of_its_queue_at_most_once_a_minute() -> None:
    from bot.serve import QUEUE_DEPTH_EVERY, http_server

    server = http_server(lambda environ, start_response: [], host="127.0.0.1", port=0)
    try:
        sparse = server.task_dispatcher.queue_logger
        assert isinstance(sparse, logs.AtMostEvery) and sparse.seconds == QUEUE_DEPTH_EVERY
        assert sparse.logger is logging.getLogger("waitress.queue")
    finally:
        server.close()
        server.task_dispatcher.shutdown()
