"""Brute force and floods on the public account routes, through Envoy: login attempts counted before
the password is checked, per email and address; per-address limits on login, sign-up and password
reset; reset mails capped per email.

These tests need low limits, so they run against a gateway of their own whose gateway.yaml sets
them. Each test speaks from loopback addresses of its own (127.77.x.y: Linux routes all of 127/8
to this host), which Envoy, using the remote address, reports to the control plane.
"""
import asyncio
import contextlib
import itertools
import json

import aiohttp
import pytest
import sqlalchemy as sa
import yaml

from schemas.tables import accounts, password_resets
from tests.e2e.test_metrics import _scrape, _value
from tests.support.api import PASSWORD, call, new_account, unique_email
from tests.support.stack import ROOT, start_gateway

LIMITS = {"login_throttle": {"max_failures": 5, "max_failures_per_email": 8, "window_seconds": 900},
          "per_ip_per_hour": {"signup": 3, "login": 45, "password_reset": 4},
          "reset_mails_per_email_per_hour": 2}
BAD_PASSWORD = 'clew_control_plane_auth_failures_total{reason="bad_password"}'
_hosts = itertools.count(1)


@pytest.fixture(scope="module")
def limited(backend, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"auth-limits-{backend.name}")
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    config["auth"].update(LIMITS)
    (home / "limited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    stack = start_gateway(backend, home, {"CLEW_CONFIG": str(home / "limited.yaml")})
    yield stack
    stack.stop()


@contextlib.asynccontextmanager
async def from_new_address():
    """A client whose connections come from a loopback address no other test uses."""
    n = next(_hosts)
    connector = aiohttp.TCPConnector(local_addr=(f"127.77.{n // 250}.{n % 250 + 1}", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def _login(session, base: str, email: str, password: str) -> tuple[int, dict, dict]:
    return await call(session, "POST", f"{base}/v1/auth/login", json={"email": email, "password": password})


async def _account(gateway):
    async with from_new_address() as setup:
        return await new_account(setup, gateway.url)


def _rate_limited(status: int, body: dict, headers, code: str) -> bool:
    error = body["error"]
    return status == 429 and error["type"] == "rate_limit_error" and error["code"] == code \
        and set(error) == {"message", "type", "param", "code"} and 1 <= int(headers["Retry-After"]) <= 3600


async def _bad_password_count(gateway) -> float:
    return _value(await _scrape(gateway.metrics_url("control_plane")), BAD_PASSWORD)


async def test_concurrent_wrong_passwords_are_checked_no_more_than_the_limit(limited):
    victim = await _account(limited)
    checked_before = await _bad_password_count(limited)
    async with from_new_address() as attacker:
        answers = await asyncio.gather(*(_login(attacker, limited.url, victim.email, f"guess-{i:04d}")
                                         for i in range(40)))
    statuses = [status for status, _, _ in answers]
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 40
    assert all(_rate_limited(*answer, "login_throttled") for answer in answers if answer[0] == 429)
    # The password hash was checked exactly as often as a 401 was answered.
    assert await _bad_password_count(limited) - checked_before == statuses.count(401)


async def test_the_owner_logs_in_from_another_address_while_the_guessers_is_refused(limited):
    victim = await _account(limited)
    async with from_new_address() as attacker:
        await asyncio.gather(*(_login(attacker, limited.url, victim.email, "wrong-password") for _ in range(40)))
        refused = await _login(attacker, limited.url, victim.email, PASSWORD)
    async with from_new_address() as owner:
        status, body, _ = await _login(owner, limited.url, victim.email, PASSWORD)
    assert _rate_limited(*refused, "login_throttled")
    assert status == 200 and body["token"]


async def test_guesses_spread_over_addresses_stop_at_the_email_ceiling(limited):
    victim = await _account(limited)
    statuses = []
    for _ in range(3):
        async with from_new_address() as attacker:
            for _ in range(5):
                statuses.append((await _login(attacker, limited.url, victim.email, "wrong-password"))[0])
    async with from_new_address() as another:
        last = await _login(another, limited.url, victim.email, PASSWORD)
    assert statuses == [401] * 8 + [429] * 7
    assert _rate_limited(*last, "login_throttled")


async def test_login_requests_per_address_are_limited(limited):
    account = await _account(limited)
    async with from_new_address() as flood:
        for _ in range(45):  # any request counts, even one refused for its body
            assert (await call(flood, "POST", f"{limited.url}/v1/auth/login", json={}))[0] == 400
        refused = await _login(flood, limited.url, account.email, PASSWORD)
    async with from_new_address() as other:
        status, _, _ = await _login(other, limited.url, account.email, PASSWORD)
    assert _rate_limited(*refused, "rate_limit_exceeded")
    assert status == 200


async def test_signups_per_address_are_limited(limited, db_of_limited):
    emails = [unique_email("flood") for _ in range(4)]
    async with from_new_address() as flood:
        answers = [await call(flood, "POST", f"{limited.url}/v1/auth/signup",
                              json={"email": email, "password": PASSWORD}) for email in emails]
    async with from_new_address() as other:
        status, _, _ = await call(other, "POST", f"{limited.url}/v1/auth/signup",
                                  json={"email": unique_email(), "password": PASSWORD})
    assert [a[0] for a in answers] == [201, 201, 201, 429] and _rate_limited(*answers[3], "rate_limit_exceeded")
    assert status == 201
    async with db_of_limited.connect() as conn:
        stored = (await conn.execute(sa.select(accounts.c.email).where(accounts.c.email.in_(emails)))).scalars()
        assert sorted(stored) == sorted(emails[:3])


async def test_password_reset_requests_per_address_are_limited(limited):
    async with from_new_address() as flood:
        forgot = [(await call(flood, "POST", f"{limited.url}/v1/auth/forgot", json={"email": unique_email()}))[0]
                  for _ in range(4)]
        fifth = await call(flood, "POST", f"{limited.url}/v1/auth/forgot", json={"email": unique_email()})
        reset = await call(flood, "POST", f"{limited.url}/v1/auth/reset",
                           json={"token": "x" * 43, "password": "a brand new password"})
    assert forgot == [202] * 4
    assert _rate_limited(*fifth, "rate_limit_exceeded") and _rate_limited(*reset, "rate_limit_exceeded")


async def _mails_to(gateway, email: str, count: int) -> list[str]:
    """The bodies of the reset mails to `email`, once `count` of them are in the outbox."""
    for _ in range(100):  # mails leave in the background
        lines = gateway.outbox.read_text().splitlines() if gateway.outbox.exists() else []
        mails = [json.loads(line)["body"] for line in lines if json.loads(line)["to"] == email]
        if len(mails) >= count:
            return mails
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} reset mails to {email} did not arrive")


async def test_reset_mails_per_email_are_capped_and_the_last_sent_link_still_works(limited, db_of_limited):
    account = await _account(limited)
    answers = []
    for _ in range(4):  # from four addresses, so the per-address limit is not what stops them
        async with from_new_address() as asker:
            answers.append(await call(asker, "POST", f"{limited.url}/v1/auth/forgot", json={"email": account.email}))
    mails = await _mails_to(limited, account.email, 2)
    async with db_of_limited.connect() as conn:
        tokens = (await conn.execute(sa.select(sa.func.count()).where(
            password_resets.c.account_id == account.id))).scalar_one()
    token = mails[-1].split("token=", 1)[1].split()[0]
    async with from_new_address() as owner:
        status, _, _ = await call(owner, "POST", f"{limited.url}/v1/auth/reset",
                                  json={"token": token, "password": "a brand new password"})
    assert [a[:2] for a in answers] == [answers[0][:2]] * 4 and answers[0][0] == 202  # capped or not, one answer
    assert len(mails) == 2 and tokens == 2
    assert status == 200


@pytest.fixture
async def db_of_limited(limited):
    from schemas.database import create_engine
    engine = create_engine(limited.database_url, limited.backend.schema)
    yield engine
    await engine.dispose()
