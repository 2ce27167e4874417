"""Waiting for the signal to stop, so that a process's cleanup runs when it gets one.

Python's default SIGTERM handler ends the process at once, skipping every `finally`: a Kubernetes
rollout or `clew up`'s Ctrl-C would then drop in-flight work (usage events, webhook deliveries).
"""
import asyncio
import signal

SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def until_terminated() -> None:
    """Return once the process gets SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
