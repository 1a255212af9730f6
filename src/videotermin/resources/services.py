"""Changes to licences and to the registry of media servers, made by the operator (commands),
and the health checks' verdicts, stored by the job runner."""

import logging
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from videotermin.agencies.models import Agency
from videotermin.appointments.models import MAX_MEMBERS
from videotermin.audit.services import record
from videotermin.monitoring.checks import TurnServer
from videotermin.resources import placement
from videotermin.resources.health import Verdict
from videotermin.resources.models import Licence, MediaServer
from videotermin.resources.placement import SecretUnavailable, read_secret

logger = logging.getLogger(__name__)

# Keep the limit as it is (a command given only some of them).
UNCHANGED = object()


def _forget() -> None:
    """Read the registry afresh: now for this thread, after the commit for every other."""
    placement.forget()
    transaction.on_commit(placement.forget)


class Invalid(Exception):
    """A value the operator gave that cannot be used; the message says which and why."""


@transaction.atomic
def set_licence(agency: Agency, *, by=None, seats=UNCHANGED, concurrent=UNCHANGED, group=UNCHANGED):
    """Set the agency's limits; None lifts one. Without any limit left, the licence goes.

    Returns the licence, or None when the agency has none any more. Audited.
    """
    licence = Licence.objects.select_for_update().filter(agency=agency).first()
    current = {
        "seats": licence.seats if licence else None,
        "concurrent": licence.concurrent if licence else None,
        "group": licence.group if licence else None,
    }
    wanted = dict(current)
    for name, value in (("seats", seats), ("concurrent", concurrent), ("group", group)):
        if value is UNCHANGED:
            continue
        if value is not None and (not isinstance(value, int) or value < 0):
            raise Invalid(f"{name} must be a whole number of 0 or more")
        wanted[name] = value
    if wanted["group"] is not None and not 2 <= wanted["group"] <= MAX_MEMBERS:
        raise Invalid(f"group must be between 2 (a counselor and a citizen) and {MAX_MEMBERS}")
    if wanted == current:
        return licence
    if all(value is None for value in wanted.values()):
        if licence is not None:
            licence.delete()
        licence = None
    elif licence is None:
        licence = Licence.objects.create(agency=agency, **wanted)
    else:
        for name, value in wanted.items():
            setattr(licence, name, value)
        licence.save()
    # No limit is written as "" (the log shows "–").
    record(
        "licence.changed",
        agency=agency,
        by=by,
        **{name: "" if value is None else value for name, value in wanted.items()},
    )
    return licence


def _check_turn_urls(urls: list[str]) -> None:
    if not urls:
        raise Invalid("a TURN server needs at least one turn: or turns: URL")
    for url in urls:
        try:
            parsed = TurnServer.parse(url)
        except ValueError:
            raise Invalid(f"not a TURN URL: {url!r}") from None
        if parsed.scheme not in ("turn", "turns"):
            raise Invalid(f"not a TURN URL: {url!r}")


def _check_http_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"the {what} must be an http:// or https:// URL: {url!r}")


def _check_secret(reference: str, what: str) -> None:
    try:
        read_secret(reference)
    except SecretUnavailable as error:
        raise Invalid(f"the {what} cannot be read here: {error}") from None


@transaction.atomic
def register(
    *,
    kind: str,
    name: str,
    urls: list[str],
    secret_ref: str = "",
    admin_url: str = "",
    admin_secret_ref: str = "",
) -> MediaServer:
    """Register a TURN server (its URLs and where its shared secret is read from) or a Janus
    node (the URL of its HTTP API, and optionally its admin API)."""
    if MediaServer.objects.filter(name=name).exists():
        raise Invalid(f"there is a media server named {name!r} already")
    if kind == MediaServer.Kind.TURN:
        _check_turn_urls(urls)
        if not secret_ref:
            raise Invalid("a TURN server needs its shared secret: --secret env:NAME or file:/path")
        _check_secret(secret_ref, "shared secret")
        if admin_url or admin_secret_ref:
            raise Invalid("only a Janus node has an admin API")
    elif kind == MediaServer.Kind.JANUS:
        if len(urls) != 1:
            raise Invalid("a Janus node has exactly one URL: its HTTP API")
        _check_http_url(urls[0], "Janus URL")
        if secret_ref:
            raise Invalid(
                "a Janus node has no shared secret; its API secret is "
                "VIDEOTERMIN_JANUS_API_SECRET on every node"
            )
        if admin_url:
            _check_http_url(admin_url, "admin URL")
        if admin_secret_ref:
            if not admin_url:
                raise Invalid("an admin secret needs the admin URL")
            _check_secret(admin_secret_ref, "admin secret")
    else:
        raise Invalid(f"not a kind of media server: {kind!r}")
    server = MediaServer(
        kind=kind,
        name=name,
        urls=urls,
        secret_ref=secret_ref,
        admin_url=admin_url,
        admin_secret_ref=admin_secret_ref,
    )
    server.full_clean()
    server.save()
    logger.info("media server %s registered (%s)", name, kind)
    _forget()
    return server


@transaction.atomic
def remove(server: MediaServer) -> None:
    """Take a server out of the registry: no new call goes there; running ones go on."""
    server.delete()
    logger.info("media server %s removed", server.name)
    _forget()


@transaction.atomic
def record_health(server: MediaServer, verdict: Verdict) -> bool:
    """Store a check's verdict; True when the server was taken out or came back with it."""
    now = timezone.now()
    current = MediaServer.objects.select_for_update().filter(pk=server.pk).first()
    if current is None:
        return False  # removed meanwhile
    changed = current.healthy is not verdict.healthy
    fields = {
        "healthy": verdict.healthy,
        "error": verdict.error,
        "load": verdict.load,
        "checked_at": now,
    }
    if changed:
        fields["changed_at"] = now
        if verdict.healthy:
            again = " again" if current.healthy is False else ""
            logger.info("media server %s is healthy%s", current.name, again)
        else:
            logger.warning("media server %s failed its check (%s)", current.name, verdict.error)
    MediaServer.objects.filter(pk=server.pk).update(**fields)
    if changed:
        _forget()
    return changed
