"""An appointment system calling /api/v1/ with its key, as the tests' persona for the API."""

import json
import uuid
from typing import Any

from django.db import connection
from django.test import Client, TestCase

PREFIX = "/api/v1"
# A fresh Idempotency-Key for every changing call unless the test gives one.
FRESH = object()


class ApiCaller:
    """Calls the API with one key; changing calls carry a new Idempotency-Key each unless told."""

    def __init__(self, client: Client, key: str | None, language: str = "en") -> None:
        self.client = client
        self.key = key
        self.language = language

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: Any = FRESH,
        if_match: str | None = None,
        language: str | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        **headers: str,
    ):
        extra = {"HTTP_ACCEPT_LANGUAGE": language or self.language, **headers}
        if self.key is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.key}"
        if method != "get" and idempotency_key is not None:
            key = str(uuid.uuid4()) if idempotency_key is FRESH else idempotency_key
            extra["HTTP_IDEMPOTENCY_KEY"] = key
        if if_match is not None:
            extra["HTTP_IF_MATCH"] = if_match
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else "")
        url = path if path.startswith("/api/") else PREFIX + path
        if not connection.in_atomic_block:
            return self._send(method, url, body, data, content_type, extra)
        # Inside a test's transaction nothing commits: what the request leaves for after its
        # commit (the e-mails) runs when it is answered, as it would after a real commit.
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self._send(method, url, body, data, content_type, extra)

    def _send(self, method: str, url: str, body: Any, data: Any, content_type: str, extra):
        if method == "get":
            return self.client.get(url, body or {}, **extra)
        return getattr(self.client, method)(url, data=data, content_type=content_type, **extra)

    def get(self, path: str, params: dict | None = None, **options: Any):
        return self.call("get", path, params, **options)

    def post(self, path: str, body: Any = None, **options: Any):
        return self.call("post", path, body, **options)

    def patch(self, path: str, body: Any = None, **options: Any):
        return self.call("patch", path, body, **options)

    def delete(self, path: str, **options: Any):
        return self.call("delete", path, None, **options)


def booking_body(location, counselor, starts_at, **changes: Any) -> dict[str, Any]:
    """Dana's appointment with Olga as her interpreter, as an appointment system books it."""
    body: dict[str, Any] = {
        "location": str(location.public_id),
        "counselor": str(counselor.staff.public_id),
        "starts_at": starts_at.isoformat(),
        "duration_minutes": 30,
        "citizen": {
            "name": "Dana Yilmaz",
            "email": "dana@example.org",
            "language": "tr",
            "customer_number": "123D456789",
        },
        "participants": [
            {
                "role": "interpreter",
                "name": "Olga Kowalenko",
                "email": "olga@example.org",
                "language": "uk",
            }
        ],
    }
    body.update(changes)
    return body


def token_of(link: str) -> str:
    """The secret token of a personal link (…/j/<token>/)."""
    return link.rstrip("/").rsplit("/", 1)[1]
