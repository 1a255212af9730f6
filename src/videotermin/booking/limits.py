"""How often the public booking page may send a confirmation e-mail.

The page sends mail to whatever address is typed into it, so it must not become a way to flood
somebody's mailbox: every request counts per client address, per e-mail address (by its hash,
so the counter names nobody) and for everybody together; a request refused for its address or
its mailbox does not use up everybody's allowance.
"""

import hashlib

from django.conf import settings
from limits import parse

from videotermin.lib import ratelimit


def _mailbox(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def allow_request(address: str, email: str) -> bool:
    """Count one booking request; False once any of the three allowances is spent."""
    return (
        ratelimit.hit_sync(f"booking-requests:{address}", settings.BOOKING_REQUEST_LIMIT)
        and ratelimit.hit_sync(f"booking-mails:{_mailbox(email)}", settings.BOOKING_EMAIL_LIMIT)
        and ratelimit.hit_sync("booking-requests", settings.BOOKING_GLOBAL_LIMIT)
    )


def retry_after() -> int:
    """Seconds after which a refused request may be tried again: the longest window."""
    return max(
        parse(limit).get_expiry()
        for limit in (
            settings.BOOKING_REQUEST_LIMIT,
            settings.BOOKING_EMAIL_LIMIT,
            settings.BOOKING_GLOBAL_LIMIT,
        )
    )
