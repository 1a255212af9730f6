"""The media servers' health checks for the job runner (lib/jobs.py)."""

import asyncio
from datetime import timedelta

from django_tasks import task

from videotermin.lib.jobs import every
from videotermin.resources import health, services
from videotermin.resources.models import MediaServer

CHECK_INTERVAL = timedelta(seconds=20)


def check_media_servers() -> int:
    """Check every registered server at once and store the verdicts; how many changed."""
    servers = list(MediaServer.objects.all())
    if not servers:
        return 0
    verdicts = asyncio.run(health.check_all(servers))
    return sum(services.record_health(s, v) for s, v in zip(servers, verdicts, strict=True))


@every(CHECK_INTERVAL)
@task()
def check_media() -> int:
    return check_media_servers()
