"""Webhook targets: https on public addresses only, judged on every address a name resolves to."""
import asyncio
import ipaddress
import socket

import pytest

from control_plane.webhooks.targets import GuardedResolver, TargetRefused, check_target, is_public


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a00:1", "2002:a00:1::1", "2001:db8::1",
])
def test_non_public_addresses_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", [
    "http://93.184.215.14/hook", "ftp://93.184.215.14/", "https://", "not a url", "/relative/path",
    "https://user:pass@93.184.215.14/", "https://93.184.215.14/#frag", "https://" + "a" * 2100 + ".com/",
])
async def test_malformed_or_insecure_urls_are_refused(url):
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False)


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://[::1]:8443/x", "https://169.254.169.254/latest/",
                                 "https://10.1.2.3/", "https://[::ffff:192.168.0.1]/", "https://localhost/hook",
                                 "https://0x7f000001/"])
async def test_private_targets_are_refused(url):
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False)


async def test_a_name_is_refused_when_any_of_its_addresses_is_private(monkeypatch):
    async def getaddrinfo(host, port, **_kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("93.184.215.14", "10.0.0.5")]
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(TargetRefused, match="10.0.0.5"):
        await check_target("https://hooks.example.com/x", allow_private=False)


async def test_a_name_resolving_to_public_addresses_is_accepted(monkeypatch):
    async def getaddrinfo(host, port, **_kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    assert (await check_target("https://hooks.example.com/x", allow_private=False)).host == "hooks.example.com"


async def test_an_unresolvable_name_is_refused(monkeypatch):
    async def getaddrinfo(host, port, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(TargetRefused, match="could not be resolved"):
        await check_target("https://nowhere.invalid/x", allow_private=False)


async def test_allow_private_targets_admits_http_and_loopback():
    assert (await check_target("http://127.0.0.1:9/hook", allow_private=True)).port == 9


async def test_the_connection_resolver_refuses_private_answers_too():
    # The delivery's own connection resolves again: a name that turned private meanwhile is refused.
    resolver = GuardedResolver(lambda: False)
    try:
        with pytest.raises(TargetRefused):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()


async def test_the_connection_resolver_follows_the_current_setting():
    resolver = GuardedResolver(lambda: True)
    try:
        assert await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()
