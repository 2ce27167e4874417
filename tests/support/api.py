"""Talking to the gateway the way clients do, for tests that need an account or a key first."""
import uuid
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str

    @property
    def bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs) -> tuple[int, dict, CIMultiDict]:
    """Status, JSON body and headers of one request."""
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if await response.read() else {}
        return response.status, body, CIMultiDict(response.headers)


async def login(session, base: str, email: str, password: str) -> str:
    status, body, _ = await call(session, "POST", f"{base}/v1/auth/login", json={"email": email, "password": password})
    assert status == 200, body
    return body["token"]


async def new_account(session, base: str, tag: str = "user") -> Account:
    email = unique_email(tag)
    status, body, _ = await call(session, "POST", f"{base}/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert status == 201, body
    return Account(body["id"], email, PASSWORD, await login(session, base, email, PASSWORD))


async def create_key(session, base: str, account: Account, name: str = "test") -> dict:
    status, body, _ = await call(session, "POST", f"{base}/v1/keys", json={"name": name}, headers=account.bearer)
    assert status == 201, body
    return body
