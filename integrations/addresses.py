"""Which addresses a webhook may be sent to: public ones, unless an admin allowed the
internal network for an endpoint. Checked when the endpoint is saved and again before each
delivery (a name may resolve elsewhere by then)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_private: bool, field: str | None = None) -> None:
    """Raise ValidationError when ``url`` is not http(s) or, unless ``allow_private``,
    when its host resolves to a private, loopback or link-local address."""

    def refuse(message: str):
        return ValidationError({field: message} if field else message)

    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse(_("Enter an http or https address."))
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _addresses(parts.hostname, port)
    except (OSError, ValueError) as exc:
        raise refuse(_("The address's host cannot be resolved.")) from exc
    if not addresses or not all(is_public(address) for address in addresses):
        raise refuse(
            _(
                "The address is on a private, loopback or link-local network: "
                "only an administrator may allow that."
            )
        )
