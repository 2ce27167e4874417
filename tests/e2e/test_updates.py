"""GET /v1/updates and GET /v1/updates/check through Envoy, against the shipped releases file (public)."""
import pytest

from control_plane.updates.releases import SHIPPED, read_releases
from control_plane.updates.versions import parse
from tests.support.api import call

RELEASES = sorted(read_releases(SHIPPED), key=lambda r: parse(r["version"]))
STABLE = [r for r in RELEASES if not parse(r["version"]).is_prerelease]
LATEST = STABLE[-1]


async def _check(client, base: str, **params) -> tuple[int, dict]:
    status, body, _ = await call(client, "GET", f"{base}/v1/updates/check", params=params)
    return status, body


async def test_latest_is_the_newest_stable_release_with_notes_date_and_downloads(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/updates")
    assert status == 200
    assert body == {"object": "release", "version": LATEST["version"], "prerelease": False,
                    "released_at": LATEST["released_on"].isoformat(), "required": LATEST["required"],
                    "notes": LATEST["notes"], "downloads": LATEST["downloads"]}


async def test_prerelease_channel_offers_the_newest_release_of_all(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/updates", params={"prerelease": "true"})
    assert status == 200 and body["version"] == RELEASES[-1]["version"]


async def test_the_oldest_release_is_told_to_update_and_whether_it_must(client, base):
    oldest = RELEASES[0]["version"]
    must = any(r["required"] for r in STABLE if parse(r["version"]) > parse(oldest))
    status, body = await _check(client, base, current=oldest)
    assert status == 200
    assert (body["update_available"], body["required"], body["latest"]) == (True, must, LATEST["version"])
    assert body["release"]["version"] == LATEST["version"] and body["current"] == oldest


async def test_the_latest_release_is_up_to_date(client, base):
    status, body = await _check(client, base, current=LATEST["version"])
    assert status == 200 and (body["update_available"], body["required"]) == (False, False)


async def test_a_prerelease_of_the_latest_version_is_older_than_it(client, base):
    status, body = await _check(client, base, current=f"{LATEST['version']}-rc.1")
    assert status == 200 and body["update_available"] is True


async def test_a_newer_development_build_is_not_offered_a_downgrade(client, base):
    status, body = await _check(client, base, current="99.0.0-alpha.1")
    assert status == 200 and body["update_available"] is False


async def test_build_metadata_does_not_make_a_version_newer(client, base):
    status, body = await _check(client, base, current=f"{LATEST['version']}+local.7")
    assert status == 200 and body["update_available"] is False


@pytest.mark.parametrize("current", ["v0.1.0", "0.1", "0.1.0.0", "latest", "1.0.0-dev", "01.0.0", "%00", "0.1.0 "])
async def test_a_malformed_version_is_400(client, base, current):
    status, body = await _check(client, base, current=current)
    assert status == 400 and body["error"]["code"] == "invalid_version" and body["error"]["param"] == "current"


@pytest.mark.parametrize("params", [{}, {"current": ""}])
async def test_a_missing_version_is_400(client, base, params):
    status, body = await _check(client, base, **params)
    assert status == 400 and body["error"]["code"] == "missing_parameter"


async def test_a_bad_prerelease_flag_is_400(client, base):
    status, body = await _check(client, base, current="0.1.0", prerelease="maybe")
    assert status == 400 and body["error"]["param"] == "prerelease"
