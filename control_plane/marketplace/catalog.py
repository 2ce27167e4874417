"""The plugin catalog: a file operators edit (catalog.yaml beside this module, or
CLEW_PLUGIN_CATALOG), copied into the marketplace tables when the control plane starts.

The tables then hold exactly the file's plugins: new ones are added, changed ones updated, and
removed ones deleted, in one transaction, idempotently.
"""
import datetime
import os
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from control_plane import clock, datafiles
from control_plane.db.upsert import insert_for, upsert
from control_plane.updates import versions
from schemas.tables import marketplace_plugin_tags as tags
from schemas.tables import marketplace_plugins as plugins

SHIPPED = Path(__file__).with_name("catalog.yaml")
FILE_ENV = "CLEW_PLUGIN_CATALOG"
NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,63}$"
TAG_PATTERN = "^[a-z0-9][a-z0-9-]{0,31}$"

_URL = {"type": "string", "pattern": "^https://", "maxLength": 500}
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["plugins"],
    "properties": {"plugins": {"type": "array", "items": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "description", "author", "repository", "tags", "versions"],
        "properties": {
            "name": {"type": "string", "pattern": NAME_PATTERN},
            "description": {"type": "string", "minLength": 1, "maxLength": 1000},
            "author": {"type": "string", "minLength": 1, "maxLength": 100},
            "repository": _URL,
            "homepage": _URL,
            "license": {"type": "string", "maxLength": 64},
            "install": {"type": "string", "minLength": 1, "maxLength": 300},
            "tags": {"type": "array", "uniqueItems": True, "maxItems": 20,
                     "items": {"type": "string", "pattern": TAG_PATTERN}},
            "versions": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "required": ["version", "released"],
                "properties": {"version": {"type": "string", "maxLength": versions.MAX_LENGTH},
                               "released": {"type": "string", "format": "date"},
                               "notes": {"type": "string", "maxLength": 2000}}}},
        }}}},
}


def catalog_file() -> Path:
    return Path(os.environ.get(FILE_ENV) or SHIPPED)


def install_command(name: str) -> str:
    return f"clew plugin install {name}"


def _versions(index: int, entries: list[dict], errors: list[str]) -> list[dict]:
    """The versions newest first, each checked as a semantic version."""
    keyed = []
    for position, entry in enumerate(entries):
        try:
            keyed.append((versions.parse(entry["version"]), entry))
        except versions.InvalidVersion as exc:
            errors.append(f"plugins.{index}.versions.{position}.version: {exc}")
    return [entry for _, entry in sorted(keyed, key=lambda pair: pair[0], reverse=True)]


def _row(item: dict, ordered: list[dict], now: datetime.datetime) -> dict:
    stable = [v for v in ordered if not versions.parse(v["version"]).is_prerelease]
    return {"name": item["name"], "description": item["description"], "author": item["author"],
            "repository": item["repository"], "homepage": item.get("homepage"), "license": item.get("license"),
            "install_command": item.get("install") or install_command(item["name"]),
            "latest_version": (stable or ordered)[0]["version"], "versions": ordered, "updated_at": now}


def read_catalog(path: Path) -> tuple[list[dict], dict[str, list[str]]]:
    """(plugin rows, tags by plugin name); DataFileError names every problem."""
    data = datafiles.load(path, SCHEMA)
    rows, tags_of, errors, now = [], {}, [], clock.now()
    for index, item in enumerate(data["plugins"]):
        if item["name"] in tags_of:
            errors.append(f"plugins.{index}.name: '{item['name']}' appears twice")
        # JSON Schema patterns are searched, and Python's $ also matches before a final newline.
        if not re.fullmatch(NAME_PATTERN[1:-1], item["name"]):
            errors.append(f"plugins.{index}.name: {item['name']!r} is not a plugin name")
        errors += [f"plugins.{index}.tags: {t!r} is not a tag" for t in item["tags"]
                   if not re.fullmatch(TAG_PATTERN[1:-1], t)]
        ordered = _versions(index, item["versions"], errors)
        if ordered:
            rows.append(_row(item, ordered, now))
        tags_of[item["name"]] = item["tags"]
    if errors:
        raise datafiles.DataFileError(path, errors)
    return rows, tags_of


async def sync(engine: AsyncEngine, path: Path) -> int:
    rows, tags_of = read_catalog(path)
    names = [row["name"] for row in rows]
    async with engine.begin() as conn:
        await conn.execute(sa.delete(tags).where(tags.c.plugin_name.not_in(names)))
        await conn.execute(sa.delete(plugins).where(plugins.c.name.not_in(names)))
        await upsert(conn, plugins, rows)
        for name, wanted in tags_of.items():
            await conn.execute(sa.delete(tags).where(tags.c.plugin_name == name, tags.c.tag.not_in(wanted)))
            if wanted:
                await conn.execute(insert_for(conn, tags).values([{"plugin_name": name, "tag": t} for t in wanted])
                                   .on_conflict_do_nothing())
    return len(rows)
