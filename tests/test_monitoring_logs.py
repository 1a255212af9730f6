"""Logs for a log collector (LOG_FORMAT=json): one JSON object a line, with nothing in it that
names a person or opens a consultation — whichever logger writes, however the data is passed."""

import json
import uuid

from tests.monitoring_helpers import run_python

from videotermin.monitoring.logs import without_personal_data

TOKEN = "Xk3vQ9mB7cR2tY8wZ1pL5nH4jF6gD0sA"
PARTICIPANT = str(uuid.UUID("6f1c2b9e-3d4a-4e5f-8a7b-9c0d1e2f3a4b"))
EMAIL = "dana.yilmaz@example.org"
ADDRESS = "203.0.113.77"
ADDRESS6 = "2001:db8:85a3::8a2e:370:7334"
SECRETS = (TOKEN, TOKEN[4:], PARTICIPANT, PARTICIPANT[4:], EMAIL, "dana.yilmaz", ADDRESS, ADDRESS6)

LOG_EVERYTHING = f"""
import logging
import django
django.setup()
import structlog

# A library's record, with the data in the message, its arguments and an extra field.
logging.getLogger("django.request").warning(
    "Not Found: %s for %s", "/j/{TOKEN}/", "{PARTICIPANT}",
    extra={{"status_code": 404, "client": "{ADDRESS}"}},
)
logging.getLogger("videotermin.test").info(
    "invitation to {EMAIL} opened from {ADDRESS} and [{ADDRESS6}]:443"
)
# Our own structured record, with the data as fields.
structlog.get_logger("videotermin.test").warning(
    "link opened", link="/j/{TOKEN}/", member="{PARTICIPANT}",
    who={{"email": "{EMAIL}", "from": ["{ADDRESS}", "{ADDRESS6}"]}},
)
# A traceback that carries them.
try:
    raise LookupError("no member {PARTICIPANT} for {EMAIL} at {ADDRESS}")
except LookupError:
    logging.getLogger("videotermin.test").exception("look-up failed for /j/{TOKEN}/")
"""


def test_json_logs_name_no_link_token_participant_email_or_address():
    result = run_python(LOG_EVERYTHING, LOG_FORMAT="json")
    lines = result.stderr.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["event"] for record in records] == [
        "Not Found: /j/Xk3v…/ for 6f1c…",
        "invitation to <e-mail> opened from <address> and [<address>]:443",
        "link opened",
        "look-up failed for /j/Xk3v…/",
    ]
    for secret in SECRETS:
        assert secret not in result.stderr, secret
    not_found, _, structured, failure = records
    assert not_found["level"] == "warning"
    assert not_found["logger"] == "django.request"
    assert not_found["status_code"] == 404
    assert not_found["client"] == "<address>"
    assert "time" in not_found
    assert structured["link"] == "/j/Xk3v…/"
    assert structured["member"] == "6f1c…"
    assert structured["who"] == {"email": "<e-mail>", "from": ["<address>", "<address>"]}
    assert "LookupError: no member 6f1c… for <e-mail> at <address>" in failure["exception"]


def test_console_logs_stay_readable_lines_by_default():
    result = run_python(LOG_EVERYTHING)
    lines = result.stderr.strip().splitlines()
    assert " WARNING django.request Not Found: /j/Xk3v…/ for 6f1c…" in lines[0]
    assert "link opened link=/j/Xk3v…/ member=6f1c…" in result.stderr
    for secret in (TOKEN[4:], PARTICIPANT[4:]):
        assert secret not in result.stderr


def test_removing_personal_data_leaves_other_text_alone():
    for text in (
        "purge: 2 appointments with 5 members deleted",
        "test call started (3 running) at 12:30:45",
        "GET /staff/check/ 200 in 0.25 s",
        "videotermin.lib.jobs::recover took 1.5 s",
        "version 2.0",
    ):
        assert without_personal_data(text) == text
    assert without_personal_data("from ::1 and fe80::1%eth0") == "from <address> and <address>"
