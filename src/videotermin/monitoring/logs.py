"""Logs as one JSON object a line (`LOG_FORMAT=json`), through structlog.

Every record, from structlog or from any standard logger (Django, uvicorn, the libraries), is
made by lib/logging.py's record factory, which shortens link tokens and UUIDs in the message,
its arguments and the traceback. The JSON formatter then removes what would name a person
from every value it writes, extra fields included: e-mail addresses and IP addresses, and once
more link tokens and UUIDs (fields passed as keywords never went through the factory).

With the readable default (`LOG_FORMAT=console`, `make run`), structlog's keyword fields are
written after the message as `key=value`, redacted the same way.
"""

import ipaddress
import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

from videotermin.lib.logging import redact

EMAIL_PLACEHOLDER = "<e-mail>"
ADDRESS_PLACEHOLDER = "<address>"

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
# Candidates only; ipaddress decides. "::" inside a word (Class::method) is no address.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[\w.]+)?(?![\w:])"
)


def _address(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    return ADDRESS_PLACEHOLDER


def without_personal_data(text: str) -> str:
    """The text without link tokens, UUIDs, e-mail addresses and IP addresses."""
    text = redact(text)
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _IPV6.sub(_address, text)
    return _IPV4.sub(_address, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return without_personal_data(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value]
    return without_personal_data(str(value))


def clean_event(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: every value of the event without personal data."""
    return {key: _clean(value) for key, value in event_dict.items()}


# Attributes every LogRecord has; anything else was passed as `extra` (or as structlog fields).
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Django's request logger passes the request object: its text is the method and path, which
# the event already names.
_SKIPPED_EXTRAS = {"request"}


def add_extras(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The record's extra fields (structlog's keyword fields arrive this way) into the event."""
    record = event_dict.get("_record")
    if record is None:
        return event_dict
    for key, value in vars(record).items():
        if key in _RECORD_ATTRIBUTES or key in _SKIPPED_EXTRAS or key.startswith("_"):
            continue
        event_dict.setdefault(key, value)
    return event_dict


def _timestamp() -> structlog.processors.TimeStamper:
    return structlog.processors.TimeStamper(fmt="iso", utc=True, key="time")


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """logging.Formatter for LOG_FORMAT=json: one JSON object per record."""

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                _timestamp(),
                add_extras,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                clean_event,
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
        )


def _console_line(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
    """The event and its fields as one readable line for the plain formatter."""
    event = str(event_dict.pop("event", ""))
    fields = " ".join(f"{key}={value}" for key, value in event_dict.items())
    return f"{event} {fields}" if fields else event


def configure(log_format: str) -> None:
    """Set structlog up to hand its events to the standard loggers (and so to the handlers
    that settings.LOGGING configured): as fields for the JSON formatter, or as one line."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
    ]
    if log_format == "json":
        # The fields travel as the record's extras; exc_info and stack_info as themselves.
        final: list[Any] = [structlog.stdlib.render_to_log_kwargs]
    else:
        final = [clean_event, _console_line]
    structlog.configure(
        processors=shared + final,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
