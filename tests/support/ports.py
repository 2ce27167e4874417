"""Free loopback ports for the processes a test starts.

Picked below the kernel's ephemeral range: a port handed out there could be taken by any outgoing
connection between the moment we test it and the moment the server binds it.
"""
import random
import socket
from pathlib import Path

_used: set[int] = set()


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (sidecar processes take port, port + 1, ...)."""
    ceiling = _ephemeral_floor() - count
    while True:
        first = random.randint(20000, ceiling)
        block = range(first, first + count)
        if not _used.intersection(block) and all(_is_free(p) for p in block):
            _used.update(block)  # never hand the same port to two servers of one test run
            return first


def free_port() -> int:
    return free_port_block(1)


def free_port_with_companion(offset: int) -> int:
    """A free port whose `port + offset` is free too, both below the ephemeral range (a Redis Cluster
    node also binds its bus on port + 10000)."""
    ceiling = _ephemeral_floor() - offset - 1
    while True:
        port = random.randint(20000, ceiling)
        pair = {port, port + offset}
        if not _used.intersection(pair) and all(_is_free(p) for p in pair):
            _used.update(pair)
            return port
