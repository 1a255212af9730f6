"""Logs never name a personal link or a participant.

A link token is the key to a consultation, and a cut-off link in a log can be completed; a
participant's id opens their pages in the browser that holds their session. Every log record,
whichever logger or handler it goes to (Django's "Not Found: /j/…/", uvicorn's access log, a
test's capture), is shortened when it is created: `/j/<first four characters>…` and
`<first four hex digits>…` for every UUID.
"""

import logging
import logging.config
import re
from typing import Any

KEEP = 4
# A token runs to the end of its path segment, however cut, percent-encoded or escaped.
_LINK = re.compile(r"(/j/)([^/\s?#\"'<>]+)")
_UUID = re.compile(r"\b([0-9a-fA-F]{4})[0-9a-fA-F]{4}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")


def redact(text: str) -> str:
    """The text with every link token and UUID shortened to its first few characters."""
    text = _LINK.sub(lambda match: f"{match[1]}{match[2][:KEEP]}…", text)
    return _UUID.sub(r"\1…", text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    # A request, an exception or a URL object: its text may carry the path.
    try:
        text = str(value)
    except Exception:  # a record must be written even when an argument cannot be shown
        return value
    shortened = redact(text)
    return value if shortened == text else shortened


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Shorten the message, its arguments (keeping their shape for formatters that unpack them,
    like uvicorn's access log) and the traceback text."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    else:
        record.msg = _redact_value(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_value(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _redact_value(arg) for key, arg in record.args.items()}
    # A token given apart from its path ("/j/%s/" with the token as the argument) only shows
    # in the finished message: then the message is finished here, shortened, without arguments.
    if record.args:
        try:
            finished = record.getMessage()
        except Exception:  # an argument that does not fit its placeholder: written as it is
            finished = None
        if finished is not None and redact(finished) != finished:
            record.msg, record.args = redact(finished), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse exc_text when it is set: the traceback is written shortened too.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


class RefusalsWithoutTraceback(logging.Filter):
    """One line for a request refused for what the client sent (a bad Host header, a too large
    or unreadable body): a traceback of Django's own code tells the operator nothing. Server
    errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


def install_record_factory() -> None:
    """Redact every record where it is made; installed once, however often logging is set up."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_links", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    redacting_factory.redacts_links = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, after the redaction is in place.

    A filter on our handlers would miss the records that never reach them: uvicorn's access log
    has handlers of its own, and so does anything a deployment adds.
    """
    install_record_factory()
    logging.config.dictConfig(config)
