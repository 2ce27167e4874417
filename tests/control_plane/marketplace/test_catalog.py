"""The plugin catalog file: checked when loaded, mirrored into the database idempotently."""
import pytest
import sqlalchemy as sa
import yaml

from control_plane.datafiles import DataFileError
from control_plane.marketplace import catalog
from schemas.tables import marketplace_plugin_tags, marketplace_plugins


def _plugin(name: str, **changes) -> dict:
    return {"name": name, "description": f"{name} does things", "author": "Clew Code",
            "repository": f"https://example.org/{name}", "tags": ["tools"],
            "versions": [{"version": "1.0.0", "released": "2026-01-01"}], **changes}


def _write(tmp_path, plugins: list[dict]):
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"plugins": plugins}))
    return path


def test_shipped_catalog_is_valid_and_has_plugins():
    rows, _ = catalog.read_catalog(catalog.SHIPPED)
    assert len(rows) >= 5


def test_latest_version_is_the_newest_stable_one(tmp_path):
    versions = [{"version": v, "released": "2026-01-01"} for v in ("1.2.0-beta.1", "1.10.0", "1.9.0")]
    rows, _ = catalog.read_catalog(_write(tmp_path, [_plugin("a", versions=versions)]))
    assert rows[0]["latest_version"] == "1.10.0"
    assert [v["version"] for v in rows[0]["versions"]] == ["1.10.0", "1.9.0", "1.2.0-beta.1"]


def test_install_command_defaults_to_the_cli_command(tmp_path):
    rows, _ = catalog.read_catalog(_write(tmp_path, [_plugin("a"), _plugin("b", install="npx clew-b")]))
    assert [r["install_command"] for r in rows] == ["clew plugin install a", "npx clew-b"]


@pytest.mark.parametrize("change,where", [
    ({"name": "Bad Name"}, "plugins.0.name"),
    ({"name": "trailing\n"}, "plugins.0.name"),
    ({"tags": ["UPPER"]}, "plugins.0.tags"),
    ({"repository": "http://insecure.example.org"}, "plugins.0.repository"),
    ({"versions": [{"version": "1.0", "released": "2026-01-01"}]}, "plugins.0.versions.0.version"),
    ({"versions": [{"version": "1.0.0", "released": "someday"}]}, "plugins.0.versions.0.released"),
    ({"stars": 5}, "plugins.0"),
])
def test_a_bad_entry_is_named_by_its_path(tmp_path, change, where):
    with pytest.raises(DataFileError) as raised:
        catalog.read_catalog(_write(tmp_path, [{**_plugin("a"), **change}]))
    assert any(error.startswith(where) for error in raised.value.errors), raised.value.errors


def test_a_name_twice_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="twice"):
        catalog.read_catalog(_write(tmp_path, [_plugin("a"), _plugin("a")]))


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


async def _state(engine) -> tuple[list, list]:
    async with engine.connect() as conn:
        names = (await conn.execute(sa.select(marketplace_plugins.c.name, marketplace_plugins.c.description)
                                    .order_by(marketplace_plugins.c.name))).all()
        tags = (await conn.execute(sa.select(marketplace_plugin_tags.c.plugin_name, marketplace_plugin_tags.c.tag)
                                   .order_by(marketplace_plugin_tags.c.plugin_name,
                                             marketplace_plugin_tags.c.tag))).all()
    return [tuple(r) for r in names], [tuple(r) for r in tags]


async def test_sync_twice_gives_the_same_tables(engine, tmp_path):
    path = _write(tmp_path, [_plugin("a", tags=["x", "y"]), _plugin("b")])
    await catalog.sync(engine, path)
    first = await _state(engine)
    await catalog.sync(engine, path)
    assert await _state(engine) == first
    assert first[1] == [("a", "x"), ("a", "y"), ("b", "tools")]


async def test_sync_applies_edits_removals_and_tag_changes(engine, tmp_path):
    await catalog.sync(engine, _write(tmp_path, [_plugin("a", tags=["x", "y"]), _plugin("b")]))
    await catalog.sync(engine, _write(tmp_path, [_plugin("a", description="new words", tags=["y", "z"])]))
    names, tags = await _state(engine)
    assert names == [("a", "new words")] and tags == [("a", "y"), ("a", "z")]
