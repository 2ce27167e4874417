"""A background loop of the control plane: one step at a time, outliving any outage."""
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def summary(error: Exception) -> str:
    # First line only: SQLAlchemy appends the statement and its parameters.
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:200]


class Loop:
    """Runs `step` until stopped. A step returning True found work and runs again at once; False
    waits `interval` seconds. A failing step is logged and retried with a growing delay."""

    def __init__(self, name: str, step: Callable[[], Awaitable[bool]], interval: float,
                 max_backoff: float = 30.0):
        self.name, self.step, self.interval, self.max_backoff = name, step, interval, max_backoff
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, grace: float = 5.0) -> None:
        """Lets the current step finish (within `grace` seconds, else cancels it)."""
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, grace)
        self._task = None

    async def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            try:
                busy = await self.step()
                delay = 0.0
            except Exception as error:  # the loop must outlive database outages: log, back off, retry
                delay = min(max(delay * 2, self.interval), self.max_backoff)
                log.warning("%s: %s; retrying in %.1f s", self.name, summary(error), delay)
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay or self.interval)
