"""The installation's TURN servers and Janus nodes: register, remove, list, check now.

Without any registered server of a kind, the settings serve (TURN_URLS, VIDEOTERMIN_JANUS_URL).
"""

import asyncio

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videotermin.resources import health, services
from videotermin.resources.models import MediaServer


class Command(BaseCommand):
    help = "Register, remove, list and check TURN servers and Janus nodes (docs/operations.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a server and check it at once")
        add.add_argument("kind", choices=MediaServer.Kind.values)
        add.add_argument("name", help="a short name of your own, e.g. turn-dc1")
        add.add_argument(
            "urls",
            nargs="+",
            help="TURN: its turn:/turns: URLs as browsers use them; Janus: its HTTP API URL",
        )
        add.add_argument(
            "--secret",
            default="",
            help="TURN: where its shared secret is read: env:NAME or file:/path",
        )
        add.add_argument("--admin-url", default="", help="Janus: its admin API, for its load")
        add.add_argument(
            "--admin-secret", default="", help="Janus: its admin secret: env:NAME or file:/path"
        )
        remove = actions.add_parser("remove", help="take a server out of the registry")
        remove.add_argument("name")
        actions.add_parser("list", help="the servers with their health and load")
        check = actions.add_parser("check", help="check every server now and store the result")
        check.add_argument("name", nargs="?", help="only this one")

    def handle(self, *args, **options) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _server(self, name: str) -> MediaServer:
        server = MediaServer.objects.filter(name=name).first()
        if server is None:
            raise CommandError(f"There is no media server named {name!r}.")
        return server

    def _add(self, options: dict) -> None:
        try:
            server = services.register(
                kind=options["kind"],
                name=options["name"],
                urls=options["urls"],
                secret_ref=options["secret"],
                admin_url=options["admin_url"],
                admin_secret_ref=options["admin_secret"],
            )
        except services.Invalid as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{server.kind} {server.name} registered."))
        self._check_now([server])

    def _remove(self, options: dict) -> None:
        server = self._server(options["name"])
        services.remove(server)
        self.stdout.write(self.style.SUCCESS(f"{server.kind} {server.name} removed."))

    def _check(self, options: dict) -> None:
        if options["name"]:
            servers = [self._server(options["name"])]
        else:
            servers = list(MediaServer.objects.all())
        self._check_now(servers)

    def _check_now(self, servers: list[MediaServer]) -> None:
        verdicts = asyncio.run(health.check_all(servers))
        for server, verdict in zip(servers, verdicts, strict=True):
            services.record_health(server, verdict)
        self._list({})

    def _list(self, options: dict) -> None:
        servers = list(MediaServer.objects.all())
        if not servers:
            self.stdout.write("No media servers registered: TURN_URLS and the Janus URL serve.")
            return
        for server in servers:
            if server.healthy is None:
                state = "not checked yet"
            elif server.healthy:
                state = "healthy"
            else:
                state = f"FAILED ({server.error})"
            load = self._load(server)
            checked = f"{server.checked_at:%Y-%m-%d %H:%M:%S}" if server.checked_at else "never"
            self.stdout.write(
                f"{server.kind:<6} {server.name:<20} {state:<30} load {load:<22} "
                f"checked {checked}  {' '.join(server.urls)}"
            )

    def _load(self, server: MediaServer) -> str:
        if server.kind == MediaServer.Kind.JANUS and server.load is not None:
            return f"{server.load} sessions"
        if server.kind == MediaServer.Kind.JANUS:
            return "no admin API"
        # coturn reports no load; each application process counts what it placed there.
        return "counted per node"
