"""Where a webhook may point: https URLs on public addresses only (no SSRF into our own network).

Checked when a webhook is created and again at every delivery, since DNS answers change. The
delivery's connection itself resolves through `GuardedResolver`, so the addresses it connects to
are the ones that were checked (no DNS rebinding between the check and the connection).
`allow_private_targets` (config, for local development and tests) lifts both rules.
"""
import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT = 5.0
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL is not an acceptable webhook target; the message says why."""


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    # 6to4 and Teredo addresses reach the IPv4 host they carry: judge that one too.
    if address.version != 6:
        return None
    if address.sixtofour:
        return address.sixtofour
    return address.teredo[1] if address.teredo else None


def is_public(address: IpAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) and
    documentation addresses, and for IPv6 forms that carry such an IPv4 address."""
    if address.version == 6 and address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
        return is_public(address.ipv4_mapped)
    embedded = _embedded_ipv4(address)
    if embedded is not None and not is_public(embedded):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_private
                                      or address.is_loopback or address.is_link_local or address.is_unspecified)


def parse_url(raw: str, allow_private: bool) -> URL:
    """The URL if its form is acceptable (scheme, host, no credentials), else TargetRefused."""
    if len(raw) > MAX_URL_LENGTH:
        raise TargetRefused(f"Webhook URL is longer than {MAX_URL_LENGTH} characters")
    try:
        url = URL(raw)
    except (ValueError, TypeError) as exc:
        raise TargetRefused("Webhook URL is not a valid URL") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if url.scheme not in schemes:
        raise TargetRefused("Webhook URL must use https")
    if not url.host or not url.is_absolute():
        raise TargetRefused("Webhook URL must name a host")
    if url.user is not None or url.password is not None:
        raise TargetRefused("Webhook URL must not contain credentials")
    if url.fragment:
        raise TargetRefused("Webhook URL must not contain a fragment")
    return url


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def refuse_private(host: str, addresses: list[str]) -> None:
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
        if not is_public(address):
            raise TargetRefused(f"Webhook URL host {host} resolves to a private, loopback, link-local or "
                                f"otherwise non-public address ({address}); refused")


async def resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise TargetRefused(f"Webhook URL host {host} could not be resolved") from exc
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise TargetRefused(f"Webhook URL host {host} could not be resolved")
    return addresses


async def check_target(raw: str, allow_private: bool) -> URL:
    """The URL when it is an acceptable webhook target now, else TargetRefused."""
    url = parse_url(raw, allow_private)
    if allow_private:
        return url
    literal = _literal(url.host)
    addresses = [str(literal)] if literal is not None else await resolve(url.host, url.port or 443)
    refuse_private(url.host, addresses)
    return url


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing to hand out non-public addresses unless allowed at call time."""

    def __init__(self, allow_private):
        self._allow_private = allow_private  # a callable: the config may change while we run
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private():
            refuse_private(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()
