"""Local state after `clew up`: everything the gateway created under CLEW_HOME is private to its user
(files 0600, directories 0700), the database, the outbox with its live reset links, secrets.json
and the TLS key first of all."""
import asyncio
import os
import stat

from tests.e2e.chat import chat
from tests.support.api import call, create_key, new_account

# Written by the test harness (tests/support/stack.py), not by the gateway.
HARNESS_FILES = {"clew-up.log", "gateway.yaml"}


async def _leave_state_behind(client, gateway) -> None:
    """An account, a key, a metered chat and a reset mail: every kind of local file gets written."""
    account = await new_account(client, gateway.url)
    key = await create_key(client, gateway.url, account)
    assert (await chat(client, gateway.url, {"X-API-Key": key["key"]}, model="deepseek-v4"))[0] == 200
    await call(client, "POST", f"{gateway.url}/v1/auth/forgot", json={"email": account.email})
    for _ in range(50):  # the mail leaves in the background
        if gateway.outbox.exists() and account.email in gateway.outbox.read_text():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no reset mail in the outbox")


def _modes(home) -> dict[str, int]:
    found = {".": stat.S_IMODE(os.stat(home).st_mode)}
    for directory, names, files in os.walk(home):
        for name in names + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, home)
            if relative not in HARNESS_FILES:
                found[relative] = os.lstat(path).st_mode
    return found


def _private(mode: int) -> bool:
    if stat.S_ISDIR(mode):
        return stat.S_IMODE(mode) == 0o700
    if stat.S_ISREG(mode):
        return stat.S_IMODE(mode) == 0o600
    return stat.S_IMODE(mode) & 0o077 == 0  # sockets: no access for group or others


async def test_every_file_under_clew_home_is_private_to_its_user(client, gateway):
    await _leave_state_behind(client, gateway)
    modes = _modes(gateway.home)
    expected = {"secrets.json", "tls/key.pem", "tls/cert.pem", "outbox.jsonl"}
    if gateway.backend.name == "embedded":
        expected |= {"clew.db", "clew.db-wal", "clew.db-shm"}
    assert expected <= set(modes)
    assert modes["."] == 0o700
    assert {path: oct(mode) for path, mode in modes.items() if path != "." and not _private(mode)} == {}
