"""The releases file: checked when loaded, synced into the database idempotently, and judged by check()."""
import datetime

import pytest
import sqlalchemy as sa
import yaml

from control_plane.datafiles import DataFileError
from control_plane.updates import releases
from control_plane.updates.versions import parse
from schemas.tables import releases as releases_table

DAY = datetime.date(2026, 1, 1)


def _release(version: str, required: bool = False) -> releases.Release:
    return releases.Release(version, DAY, f"notes of {version}", required, {"linux-x64": f"https://x/{version}"})


# Newest first, as releases.published returns them.
PUBLISHED = [_release("0.5.0-rc.1"), _release("0.4.0"), _release("0.3.0", required=True), _release("0.2.0"),
             _release("0.1.0")]


def _write(tmp_path, items: list[dict]):
    path = tmp_path / "releases.yaml"
    path.write_text(yaml.safe_dump({"releases": items}))
    return path


def _item(version: str, **changes) -> dict:
    return {"version": version, "released": "2026-01-01", "notes": "n", "downloads": {"linux-x64": "https://d/x"},
            **changes}


@pytest.mark.parametrize("current,available,required", [
    ("0.1.0", True, True),         # 0.3.0, required, lies ahead
    ("0.3.0-beta.1", True, True),  # a pre-release of the required release is older than it
    ("0.3.0", True, False),        # only optional releases ahead
    ("0.3.5", True, False),
    ("0.4.0", False, False),       # up to date
    ("0.4.0+local.build", False, False),
    ("0.5.0-rc.1", False, False),  # ahead of the newest stable release
    ("9.0.0", False, False),
])
def test_check_stable_channel(current, available, required):
    verdict = releases.check(PUBLISHED, parse(current), include_prereleases=False)
    assert (verdict["update_available"], verdict["required"], verdict["latest"]) == (available, required, "0.4.0")


def test_check_prerelease_channel_offers_the_release_candidate():
    verdict = releases.check(PUBLISHED, parse("0.4.0"), include_prereleases=True)
    assert verdict["update_available"] and verdict["latest"] == "0.5.0-rc.1"


def test_check_without_any_release_offers_nothing():
    verdict = releases.check([], parse("0.1.0"), include_prereleases=False)
    assert verdict == {"update_available": False, "required": False, "latest": None, "release": None}


def test_latest_skips_prereleases_unless_asked():
    assert releases.latest(PUBLISHED, False).version == "0.4.0"
    assert releases.latest(PUBLISHED, True).version == "0.5.0-rc.1"


def test_shipped_file_is_valid():
    assert releases.read_releases(releases.SHIPPED)


def test_a_non_semver_version_in_the_file_is_named_by_its_path(tmp_path):
    with pytest.raises(DataFileError) as raised:
        releases.read_releases(_write(tmp_path, [_item("0.1.0"), _item("v0.2")]))
    assert raised.value.errors[0].startswith("releases.1.version:")


def test_the_same_version_twice_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="repeats"):
        releases.read_releases(_write(tmp_path, [_item("0.1.0"), _item("0.1.0+b2")]))


def test_a_plain_http_download_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="downloads"):
        releases.read_releases(_write(tmp_path, [_item("0.1.0", downloads={"linux-x64": "http://d/x"})]))


def test_unknown_fields_are_refused(tmp_path):
    with pytest.raises(DataFileError, match="mandatory"):
        releases.read_releases(_write(tmp_path, [_item("0.1.0", mandatory=True)]))


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


async def _versions(engine) -> list[str]:
    async with engine.connect() as conn:
        return [r.version for r in await releases.published(conn)]


async def test_sync_is_idempotent_and_mirrors_the_file(engine, tmp_path):
    path = _write(tmp_path, [_item("0.1.0"), _item("0.2.0", required=True)])
    await releases.sync(engine, path)
    await releases.sync(engine, path)
    assert await _versions(engine) == ["0.2.0", "0.1.0"]
    async with engine.connect() as conn:
        required = (await conn.execute(sa.select(releases_table.c.required)
                                       .where(releases_table.c.version == "0.2.0"))).scalar_one()
    assert required is True


async def test_sync_drops_releases_removed_from_the_file_and_updates_changed_ones(engine, tmp_path):
    await releases.sync(engine, _write(tmp_path, [_item("0.1.0"), _item("0.2.0")]))
    await releases.sync(engine, _write(tmp_path, [_item("0.2.0", notes="fixed notes")]))
    async with engine.connect() as conn:
        found = await releases.published(conn)
    assert [(r.version, r.notes) for r in found] == [("0.2.0", "fixed notes")]
