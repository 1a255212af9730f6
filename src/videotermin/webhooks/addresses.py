"""Which addresses webhooks may go to: https to public addresses only, unless the operator lists
the host in WEBHOOK_ALLOWED_HOSTS (docs/operations.md).

A listed entry is a host name (`hooks.intern.example`; `.intern.example` for it and every
name below it), an address or a network (`10.20.0.0/16`). A listed host may be reached over
plain http and on private, loopback and link-local addresses; nothing else may, so that an
endpoint cannot make the server send requests into the agency's own network (SSRF). The check
runs when an endpoint is saved and again before every delivery, against the addresses the name
resolves to at that moment, and the request goes to exactly the address that was checked.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL may not be used; `code` is a Delivery.Error, the message is for the
    administrator."""

    def __init__(self, code: str, message) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """Where one request goes: the checked address, and the host name for Host and TLS."""

    scheme: str
    host: str
    port: int
    address: IPAddress
    path: str

    @property
    def url(self) -> str:
        address = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{address}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    address = _unmapped(address)
    return address.is_global and not address.is_multicast


def _listed_entries() -> tuple[set[str], list, list]:
    names: set[str] = set()
    suffixes: list[str] = []
    networks: list = []
    for entry in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", []):
        entry = entry.strip().lower()
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            if entry.startswith("."):
                suffixes.append(entry)
            elif entry:
                names.add(entry)
    return names, suffixes, networks


def is_listed(host: str, addresses: list[IPAddress]) -> bool:
    """The operator allowed this host: by its name, or every address of it is in a listed
    network."""
    names, suffixes, networks = _listed_entries()
    host = host.lower().rstrip(".")
    if host in names or any(host.endswith(s) or host == s[1:] for s in suffixes):
        return True
    return bool(addresses) and all(
        any(_unmapped(address) in network for network in networks) for address in addresses
    )


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise AddressRefused("address", _("This is not a valid URL.")) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("address", _("The URL must begin with https://."))
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("address", _("The URL must not contain a user name or password."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def _addresses(host: str, port: int) -> list[IPAddress] | None:
    """The host's addresses; None when the name cannot be resolved now."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    # Scoped IPv6 addresses ("fe80::1%eth0") are link-local: refused unless listed anyway.
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found)
    )


def _require_allowed(scheme: str, host: str, addresses: list[IPAddress] | None) -> None:
    listed = is_listed(host, addresses or [])
    if scheme != "https" and not listed:
        raise AddressRefused("address", _("The URL must begin with https://."))
    if addresses and not listed and not all(is_public(a) for a in addresses):
        raise AddressRefused(
            "address",
            _(
                "This host is in a private, loopback or link-local network. Only hosts that "
                "the operator allowed may be there."
            ),
        )


def check_url(url: str) -> None:
    """Refuse a URL that may not be an endpoint (when it is saved); a name that does not
    resolve now is accepted, and checked again at every delivery."""
    scheme, host, port, _path = _parse(url)
    _require_allowed(scheme, host, _addresses(host, port))


def resolve(url: str) -> Target:
    """The address to send to now, checked; raises AddressRefused."""
    scheme, host, port, path = _parse(url)
    addresses = _addresses(host, port)
    if addresses is None or not addresses:
        raise AddressRefused("unresolved", _("The host name could not be resolved."))
    _require_allowed(scheme, host, addresses)
    return Target(scheme, host, port, addresses[0], path)
