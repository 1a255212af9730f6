"""ICE configuration for the browsers: STUN and TURN servers, short-lived TURN credentials, and
whether an agency's calls go through the relay only.

The credentials follow the TURN REST scheme that coturn checks with `use-auth-secret`: the
username is `"<unix expiry>:<opaque id>"`, the password `base64(HMAC-SHA1(secret, username))`.
coturn needs no database of users, and a leaked password stops working at its expiry. The opaque
id is a keyed hash of the room member, so coturn's logs hold no name, e-mail or participant id.
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Literal

from django.conf import settings
from django.utils.crypto import salted_hmac

from videotermin.resources import placement

Policy = Literal["relay", "all"]


def opaque_id(member_id: str) -> str:
    """A stable pseudonym of a room member that says nothing about the person."""
    return salted_hmac("videotermin.calls.ice", member_id).hexdigest()[:20]


def turn_credentials(
    member_id: str, *, secret: str, ttl: int, now: float | None = None
) -> tuple[str, str]:
    """The TURN REST username and password for one member, valid for `ttl` seconds."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{opaque_id(member_id)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(member_id: str) -> list[dict[str, Any]]:
    """The RTCIceServers of one room member: STUN as configured, TURN with fresh credentials."""
    servers: list[dict[str, Any]] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    # TURN_URLS, or the registered TURN server this member is placed on (resources/).
    for turn in placement.turn_servers(member_id):
        username, credential = turn_credentials(
            member_id, secret=turn.secret, ttl=settings.TURN_TTL_SECONDS
        )
        servers.append({"urls": list(turn.urls), "username": username, "credential": credential})
    return servers


def relay_missing(agency) -> bool:
    """The agency wants relay only, but no TURN server is configured: its calls cannot connect.

    Falling back to direct connections would expose the addresses the agency chose to hide, so
    the policy stays "relay" and the counselor is told (calls/counselor_room.html).
    """
    return agency.relay_only and not placement.turn_servers()


def ice_policy(agency) -> Policy:
    """Relay only when the agency hides participants' IP addresses from each other."""
    return "relay" if agency.relay_only else "all"


def ice_config(agency, member_id: str) -> dict[str, Any]:
    """The `ice` field of `welcome` and `ice`: servers, transport policy, and how many seconds
    the TURN credentials are valid (null without TURN), so the page asks again in time."""
    servers = ice_servers(member_id)
    with_turn = any("credential" in server for server in servers)
    return {
        "servers": servers,
        "policy": ice_policy(agency),
        "ttl": settings.TURN_TTL_SECONDS if with_turn else None,
    }


def page_context(agency, member_id: str) -> dict[str, str | bool]:
    """What a room template needs for its `data-ice-servers` and `data-ice-policy`."""
    return {
        "ice_servers_json": json.dumps(ice_servers(member_id)),
        "ice_policy": ice_policy(agency),
        "relay_missing": relay_missing(agency),
    }


def staff_member_id(user) -> str:
    """The member id of a staff user (participants use their public id)."""
    return f"staff:{user.pk}"
