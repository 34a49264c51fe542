"""Every log line of a request carries its id, the response tells it, and JSON lines parse."""

import json
import logging
import re

import pytest

from marketplace.logs import JsonFormatter, RequestIdFilter, request_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    """What the app's loggers write during the test, through the request-id filter."""
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            captured.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield captured
    logger.removeHandler(handler)


def test_each_response_tells_its_request_id(client):
    first = client.get("/en/")["X-Request-ID"]
    second = client.get("/en/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_sane_id_from_the_proxy_is_kept_and_a_hostile_one_replaced(client):
    assert client.get("/en/", HTTP_X_REQUEST_ID="lb-7f3a_01")["X-Request-ID"] == "lb-7f3a_01"
    hostile = client.get("/en/", HTTP_X_REQUEST_ID="x\n<script>" + "a" * 80)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", hostile)


def test_log_lines_written_during_a_request_carry_its_id(client, records):
    response = client.get("/en/no-such-page/", HTTP_X_REQUEST_ID="trace-404")
    assert response.status_code == 404
    assert [r.request_id for r in records] == ["trace-404"]  # "Not Found: /en/no-such-page/"
    assert request_id.get() == "-"  # nothing left behind after the request


def test_json_lines_parse_with_the_request_id_and_the_traceback():
    record = logging.LogRecord("marketplace", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.request_id = "abc"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed x" and line["request_id"] == "abc"
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exception"]
