"""API keys as ninja authentication: `Authorization: Bearer vtk_<id>_<secret>`.

`ApiKeyAuth("read")` lets every working key of an agency in; `ApiKeyAuth("write")` only keys
with the scope read and write (others get 403). Both count the call against the key's rate
limit (429 with Retry-After) and set `request.auth` to a `Caller`: the key, the agency and the
actor to pass to services as `by=`. Any router mounted on the API can use them:

    router = Router(auth=ApiKeyAuth("read"))
    @router.post("/things", auth=ApiKeyAuth("write"))
    def add_thing(request, ...):
        caller: Caller = request.auth
        services.add_thing(..., by=caller.actor)
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from videotermin.agencies.actors import AgencySystem
from videotermin.agencies.models import Agency
from videotermin.api.models import ApiKey
from videotermin.api.problems import Problem
from videotermin.api.services import split_key
from videotermin.lib import ratelimit

# last_used_at is written at most this often per key.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who calls: a working key of an agency, with the secret it presented (kept only for the
    length of the request: it seals the answers kept for retries)."""

    key: ApiKey
    secret: str = field(repr=False)

    @property
    def agency_id(self) -> int:
        return self.key.agency_id

    @property
    def agency(self) -> Agency:
        return self.key.agency

    @property
    def actor(self) -> AgencySystem:
        return self.key.actor()


def rate_limit_key(key: ApiKey) -> str:
    return f"api:{key.public_id}"


class ApiKeyAuth(HttpBearer):
    openapi_description = "An API key of the agency: `Authorization: Bearer vtk_…` (docs/api.md)."

    def __init__(self, scope: str = ApiKey.Scope.READ) -> None:
        if scope not in ApiKey.Scope.values:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        parts = split_key(token.strip())
        if parts is None:
            return None
        public_id, secret = parts
        key = ApiKey.objects.select_related("agency").filter(public_id=public_id).first()
        if key is None or not key.opens_with(secret):
            return None
        # Known from here on: a refusal of this call is audited under the key (v1.py).
        request.api_key = key  # type: ignore[attr-defined]
        limit = settings.API_RATE_LIMIT
        if not ratelimit.hit_sync(rate_limit_key(key), limit):
            seconds = ratelimit.retry_after_sync(rate_limit_key(key), limit)
            raise Problem(
                "rate-limited",
                gettext("This key may make %(limit)s calls. Try again in %(seconds)d seconds.")
                % {"limit": limit, "seconds": seconds},
                headers={"Retry-After": str(seconds)},
            )
        _touch(key)
        if self.scope == ApiKey.Scope.WRITE and not key.may_write:
            raise Problem(
                "forbidden",
                _("This key may only read. Changes need a key with the scope read and write."),
            )
        return Caller(key, secret)


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ).update(last_used_at=now)


read_key = ApiKeyAuth(ApiKey.Scope.READ)
write_key = ApiKeyAuth(ApiKey.Scope.WRITE)
