"""A real HTTP server that receives webhook deliveries, answering each path as a test scripts it."""
import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from aiohttp import web

from tests.support.ports import free_port


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float

    @property
    def event(self) -> dict:
        return json.loads(self.body)


def signature_is_valid(secret: str, received: Received, tolerance: float = 300) -> bool:
    """Checks X-Clew-Signature the way a receiver following the documentation would."""
    parts = dict(item.split("=", 1) for item in received.headers["X-Clew-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= tolerance


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.received: dict[str, list[Received]] = defaultdict(list)
        self._scripts: dict[str, list] = defaultdict(list)  # statuses (or "hang") answered in order
        self._defaults: dict[str, int] = {}  # the status once the script is used up (200 unless set)
        self._runner: web.AppRunner | None = None

    def new_path(self) -> str:
        return f"/hooks/{uuid.uuid4().hex}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers) -> None:
        self._scripts[path].extend(answers)

    def answer_always(self, path: str, status: int) -> None:
        self._defaults[path] = status

    async def _handle(self, request: web.Request) -> web.Response:
        self.received[request.path].append(Received(dict(request.headers), await request.read(), time.time()))
        answers = self._scripts[request.path]
        answer = answers.pop(0) if answers else self._defaults.get(request.path, 200)
        if answer == "hang":
            await asyncio.sleep(30)
            answer = 200
        if 300 <= answer < 400:
            return web.Response(status=answer, headers={"Location": request.path + "/redirected"})
        return web.Response(status=answer, text="ok" if answer < 300 else "no")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> "Receiver":
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    async def wait_for(self, path: str, count: int = 1, timeout: float = 15.0) -> list[Received]:
        """The first `count` deliveries to `path`, waiting up to `timeout` seconds for them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received[path]) < count:
            assert loop.time() < deadline, f"{path}: {len(self.received[path])} of {count} deliveries arrived"
            await asyncio.sleep(0.05)
        return self.received[path][:count]
