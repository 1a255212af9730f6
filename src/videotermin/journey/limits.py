"""How often personal links may be looked up.

A token has 192 random bits, so guessing one is hopeless; still, nobody may try links by the
thousand, from one address or spread over many. Every look-up counts, a valid one too: a
citizen opens their link a few times, never thirty times a minute.
"""

from django.conf import settings
from limits import parse

from videotermin.lib import ratelimit


def allow_lookup(address: str) -> bool:
    """Count one look-up from the address; False once its or everybody's allowance is spent.

    A refused address does not use up the allowance of everybody else.
    """
    return ratelimit.hit_sync(
        f"link-lookups:{address}", settings.LINK_LOOKUP_LIMIT
    ) and ratelimit.hit_sync("link-lookups", settings.LINK_LOOKUP_GLOBAL_LIMIT)


def retry_after() -> int:
    """Seconds after which a refused address may try again: the longer of the two windows."""
    return max(
        parse(settings.LINK_LOOKUP_LIMIT).get_expiry(),
        parse(settings.LINK_LOOKUP_GLOBAL_LIMIT).get_expiry(),
    )
