"""Changing requests under an Idempotency-Key: done once, answered the same on every retry.

The key's row is inserted in the same transaction as the change. A second request with the
same key waits on the row's unique index until the first commits (PostgreSQL), then finds it
and gets the stored answer; if the first rolled back, the second does the change itself. So
concurrent retries have exactly one effect. Only successful answers are stored: a refused
request changed nothing and may be sent again with the same key.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from videotermin.api.auth import Caller
from videotermin.api.models import IdempotentRequest
from videotermin.api.problems import Problem
from videotermin.lib.jsonbody import BodyError, read_json

# The headers of an answer that are stored and sent again with it.
KEPT_HEADERS = ("ETag", "Location")
REPLAYED = "Idempotent-Replayed"


def normalised(value: str) -> str:
    """The key as sent, without the quotes of the structured-field form ("…")."""
    value = value.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def fingerprint(request: HttpRequest) -> str:
    """What makes two requests the same: method, path and the JSON body, whatever its spacing
    or the order of its keys."""
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path}\n".encode())
    body = request.body
    try:
        value = read_json(request, settings.API_MAX_BODY_BYTES) if body else None
    except BodyError:
        # Not JSON (an operation without a body ignores it): the same bytes are the same.
        digest.update(b"raw\n" + body)
    else:
        digest.update(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _cipher(caller: Caller, key: str) -> AESGCM:
    # Derived from the caller's secret, of which the database has only a hash: a stored answer
    # can be opened only by a retry that presents the same secret and the same key.
    material = hmac.new(
        caller.secret.encode(), b"videotermin.api.idempotency\x00" + key.encode(), hashlib.sha256
    ).digest()
    return AESGCM(material)


def _seal(caller: Caller, key: str, print_: str, body: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _cipher(caller, key).encrypt(nonce, body, print_.encode())


def _open(caller: Caller, key: str, print_: str, sealed: bytes) -> bytes:
    try:
        return _cipher(caller, key).decrypt(sealed[:12], sealed[12:], print_.encode())
    except InvalidTag:
        raise Problem(
            "idempotency-answer-sealed",
            _(
                "The answer to the first request with this Idempotency-Key was stored for the "
                "secret it was made with. Retry with that secret, or use a new key."
            ),
        ) from None


def run_once(
    request: HttpRequest, caller: Caller, key: str, change: Callable[[], HttpResponse]
) -> HttpResponse:
    """Do `change` once for this key; a retry gets its stored answer (422 for another request)."""
    key = normalised(key)
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    print_ = fingerprint(request)
    for _attempt in range(2):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotentRequest.objects.create(
                        api_key=caller.key, key_hash=key_hash, fingerprint=print_
                    )
            except IntegrityError:
                stored = IdempotentRequest.objects.filter(
                    api_key=caller.key, key_hash=key_hash
                ).first()
                if stored is None:
                    continue  # the first request rolled back meanwhile
                if stored.created_at < timezone.now() - timedelta(
                    hours=settings.API_IDEMPOTENCY_HOURS
                ):
                    stored.delete()  # expired, not yet purged: this is a new request
                    continue
                return _replay(caller, key, print_, stored)
            response = change()
            row.status = response.status_code
            row.headers = {name: response[name] for name in KEPT_HEADERS if name in response}
            row.sealed_body = _seal(caller, key, print_, response.content)
            row.save(update_fields=["status", "headers", "sealed_body"])
            return response
    raise IntegrityError("the Idempotency-Key's row kept changing")


def _replay(caller: Caller, key: str, print_: str, stored: IdempotentRequest) -> HttpResponse:
    if not hmac.compare_digest(stored.fingerprint, print_):
        raise Problem(
            "idempotency-key-reused",
            gettext(
                "This Idempotency-Key was used for another request within the last %(hours)d "
                "hours. Use a new key for a new change."
            )
            % {"hours": settings.API_IDEMPOTENCY_HOURS},
        )
    body = _open(caller, key, print_, bytes(stored.sealed_body))
    response = HttpResponse(body, status=stored.status, content_type="application/json")
    for name, value in stored.headers.items():
        response[name] = value
    response[REPLAYED] = "true"
    return response


def purge_expired() -> int:
    """Delete the stored answers older than API_IDEMPOTENCY_HOURS; return how many."""
    horizon = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _counts = IdempotentRequest.objects.filter(created_at__lt=horizon).delete()
    return deleted
