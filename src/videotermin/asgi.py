"""ASGI entry point: Django for HTTP, Channels for the WebSockets under /ws/."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videotermin.settings")
django_application = get_asgi_application()

from channels.layers import get_channel_layer  # noqa: E402 (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from videotermin.calls.consumers import PingAnswering, RoomConsumer  # noqa: E402
from videotermin.lib.channellayer import require_one_process  # noqa: E402
from videotermin.lib.origins import SiteOriginValidator  # noqa: E402
from videotermin.lib.proxies import TrustedProxyMiddleware  # noqa: E402
from videotermin.monitoring.endpoints import Probes  # noqa: E402
from videotermin.monitoring.sockets import SocketMetrics  # noqa: E402
from videotermin.signin.middleware import SocketSignIn  # noqa: E402
from videotermin.staff.consumers import DayConsumer  # noqa: E402

# Without REDIS_URL, one process or none (uvicorn --workers 2 stops at once, saying why).
require_one_process(get_channel_layer())

websocket_urlpatterns = [
    path("ws/room/<uuid:appointment>/", PingAnswering(RoomConsumer.as_asgi())),
    path("ws/staff/", DayConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        # Forwarded headers only from the configured proxies (lib/proxies.py), for both.
        # /healthz, /readyz and /metrics are answered before Django (monitoring/endpoints.py).
        "http": TrustedProxyMiddleware(Probes(django_application)),
        # Open sockets and failed joins are counted around all the rest (monitoring/sockets.py).
        "websocket": TrustedProxyMiddleware(
            SocketMetrics(
                SiteOriginValidator(
                    # The session and its user; staff held by their agency's second-factor
                    # policy connect as nobody.
                    SocketSignIn(URLRouter(websocket_urlpatterns))
                )
            )
        ),
    }
)

# A node holds thousands of sockets, each with its long-lived objects, and Python's full
# collections look at every one of them: at 3,000 sockets they took 0.3-0.8 s every few seconds,
# and for that long no signal was relayed (docs/decisions/scale.md). What the process loaded at
# start moves out of the collector's sight, and a full collection comes after 6,000 young ones
# instead of Python's 10: with sockets open those run ten times a second
# (lib/sockets.YoungCollections), so about every ten minutes. Cycles among long-lived objects,
# a closed socket's among them, are still found then.
gc.collect()
gc.freeze()
gc.set_threshold(700, 10, 6000)
