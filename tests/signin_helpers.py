"""Second factors as a staff member's authenticator app or security key would answer."""

from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for this secret."""
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
