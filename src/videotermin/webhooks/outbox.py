"""Write events into the outbox, in the transaction of the change they describe.

The services call `emit(appointment, "member.admitted", member=member)` right where the change
happens. The event and one delivery per endpoint that wants it are rows written with the
change: a change that commits has its event, one that rolls back has none, and a worker that
dies later finds it still there. After the commit a delivery run is asked for (delivery.py).
An agency without an endpoint for the event type gets no row at all.
"""

import functools
import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from videotermin.appointments.models import Appointment, Member
from videotermin.lib.rows import Statement, Table
from videotermin.webhooks.events import (
    EVENT_TYPES,
    TEST,
    describe_appointment,
    describe_member,
    timestamp,
)
from videotermin.webhooks.models import Delivery, Endpoint, Event


def emit(
    appointment: Appointment, event_type: str, *, member: Member | None = None, **data: Any
) -> Event | None:
    """Put the event into the outbox for every active endpoint of the agency that wants it.

    `data` adds states and times of this event (never a name, an address or an answer). Call
    it inside the service's transaction, after the change is saved: the body describes the
    appointment and the member as they are now.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type}")
    endpoints = [
        endpoint
        for (endpoint,) in _active_endpoints().rows([appointment.agency_id, True])
        if event_type in endpoint.event_types
    ]
    if not endpoints:
        return None
    now = timezone.now()
    # The services hold the appointment's row lock here, so positions never collide.
    last = Event.objects.filter(appointment=appointment.public_id).aggregate(Max("position"))
    position = (last["position__max"] or 0) + 1
    payload: dict[str, Any] = {
        "agency": str(appointment.agency.public_id),
        "sequence": position,
        "appointment": describe_appointment(appointment, now),
    }
    if member is not None:
        payload["member"] = describe_member(member)
    payload.update({k: timestamp(v) if isinstance(v, datetime) else v for k, v in data.items()})
    return _write(appointment.agency_id, endpoints, event_type, payload, now, appointment, position)


@functools.cache
def _active_endpoints() -> Statement:
    """The agency's active endpoints: asked on every event, mostly to find none, so written
    out once (lib/rows.py)."""

    def write(q) -> str:
        return (
            f"SELECT {q.e.all} FROM {q.e.table}"  # noqa: S608 (names from the model)
            f" WHERE {q.e.c('agency')} = %s AND {q.e.c('active')} = %s"
            f" ORDER BY {q.e.c('created_at')}, {q.e.c('id')}"
        )

    return Statement([Table(Endpoint, "e")], write)


def emit_test(endpoint: Endpoint) -> Event:
    """A test event for this one endpoint, whatever it subscribed to."""
    now = timezone.now()
    payload = {"agency": str(endpoint.agency.public_id), "endpoint": str(endpoint.public_id)}
    return _write(endpoint.agency_id, [endpoint], TEST, payload, now, None, 0)


def _write(
    agency_id: int,
    endpoints: list[Endpoint],
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    appointment: Appointment | None,
    position: int,
) -> Event:
    body = {"type": event_type, "timestamp": timestamp(now), "data": data}
    event = Event.objects.create(
        agency_id=agency_id,
        appointment=appointment.public_id if appointment is not None else None,
        position=position,
        type=event_type,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        created_at=now,
    )
    Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            event=event,
            appointment=event.appointment,
            position=position,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    )
    from videotermin.webhooks.delivery import request_run

    transaction.on_commit(request_run)
    return event
