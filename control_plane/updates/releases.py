"""The CLI releases: a file operators edit (releases.yaml beside this module, or CLEW_RELEASES_FILE),
copied into the `releases` table when the control plane starts, read from there by the API.

A release marked `required` must be installed: an instance older than it is told the update is
required, even when newer optional releases exist.
"""
import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from packaging.version import Version
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane import datafiles
from control_plane.db.upsert import upsert
from control_plane.updates import versions
from schemas.tables import releases

SHIPPED = Path(__file__).with_name("releases.yaml")
FILE_ENV = "CLEW_RELEASES_FILE"

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["releases"],
    "properties": {"releases": {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["version", "released", "notes", "downloads"],
        "properties": {
            "version": {"type": "string", "maxLength": versions.MAX_LENGTH},
            "released": {"type": "string", "format": "date"},
            "required": {"type": "boolean"},
            "notes": {"type": "string", "maxLength": 20000},
            "downloads": {"type": "object", "minProperties": 1,
                          "propertyNames": {"pattern": "^[a-z0-9]+-[a-z0-9_]+$", "maxLength": 40},
                          "additionalProperties": {"type": "string", "pattern": "^https://", "maxLength": 500}},
        }}}},
}


@dataclass(frozen=True)
class Release:
    version: str
    released_on: datetime.date
    notes: str
    required: bool
    downloads: dict

    @property
    def key(self) -> Version:
        return versions.parse(self.version)

    def view(self) -> dict:
        return {"object": "release", "version": self.version, "released_at": self.released_on.isoformat(),
                "prerelease": self.key.is_prerelease, "required": self.required, "notes": self.notes,
                "downloads": dict(sorted(self.downloads.items()))}


def releases_file() -> Path:
    return Path(os.environ.get(FILE_ENV) or SHIPPED)


def read_releases(path: Path) -> list[dict]:
    """The file's releases as table rows; DataFileError names every problem."""
    data = datafiles.load(path, SCHEMA)
    rows, errors, seen = [], [], {}
    for index, item in enumerate(data["releases"]):
        try:
            key = versions.parse(item["version"])
        except versions.InvalidVersion as exc:
            errors.append(f"releases.{index}.version: {exc}")
            continue
        if key in seen:
            errors.append(f"releases.{index}.version: {item['version']} repeats {seen[key]}")
        seen[key] = item["version"]
        rows.append({"version": item["version"], "released_on": datetime.date.fromisoformat(item["released"]),
                     "notes": item["notes"], "required": item.get("required", False),
                     "downloads": item["downloads"]})
    if errors:
        raise datafiles.DataFileError(path, errors)
    return rows


async def sync(engine: AsyncEngine, path: Path) -> int:
    """Make the table hold exactly the file's releases (idempotent, safe for replicas starting together)."""
    rows = read_releases(path)
    async with engine.begin() as conn:
        await upsert(conn, releases, rows)
        await conn.execute(sa.delete(releases).where(releases.c.version.not_in([r["version"] for r in rows])))
    return len(rows)


async def published(conn: AsyncConnection) -> list[Release]:
    """Every release, newest first."""
    rows = (await conn.execute(sa.select(releases))).all()
    return sorted((Release(**row._mapping) for row in rows), key=lambda r: r.key, reverse=True)


def latest(found: list[Release], include_prereleases: bool) -> Release | None:
    return next((r for r in found if include_prereleases or not r.key.is_prerelease), None)


def check(found: list[Release], current: Version, include_prereleases: bool) -> dict:
    newest = latest(found, include_prereleases)
    if newest is None:
        return {"update_available": False, "required": False, "latest": None, "release": None}
    newer = [r for r in found if current < r.key <= newest.key]
    return {"update_available": bool(newer), "required": any(r.required for r in newer),
            "latest": newest.version, "release": newest.view()}
