"""Keeping the access log file the reconciler reads from filling its volume: rename it, have Envoy reopen.

Only once it has been read to its end. `<path>.1` keeps the previous file (one generation): the
reader finishes it after Envoy reopened (plugins.access_log_tail), and an operator can still read it.
Envoy is asked through its admin API (loopback only), as `clew drain` does.
"""
import logging
import os
from pathlib import Path

import aiohttp

from plugins.access_log_tail import rotated_name

log = logging.getLogger(__name__)


def rename_away(path: Path) -> None:
    os.replace(path, rotated_name(path))


async def reopen_logs(admin_port: int) -> bool:
    """Ask Envoy to reopen its access logs (it creates the file anew at its path); False if it did not answer."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.post(f"http://127.0.0.1:{admin_port}/reopen_logs") as reply:
                return reply.status == 200
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("Envoy did not reopen its access logs: %s", error)
        return False
