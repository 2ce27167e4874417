"""Video generation jobs in the database: whose they are, which provider task they follow, and
whether the video was billed."""
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.tables import video_jobs


@dataclass(frozen=True)
class VideoJob:
    id: str
    account_id: str
    model: str
    provider: str
    task_id: str
    status: str
    file_id: str | None
    error: str | None
    created: int  # unix seconds


def _job(row) -> VideoJob:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)  # SQLite drops it
    return VideoJob(row.id, row.account_id, row.model, row.provider, row.task_id, row.status, row.file_id,
                    row.error, int(created.timestamp()))


class VideoJobs:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def create(self, account_id: str, model: str, provider: str, task_id: str) -> VideoJob:
        now = datetime.now(UTC)
        row = {"id": f"vid_{uuid.uuid4().hex}", "account_id": account_id, "model": model, "provider": provider,
               "task_id": task_id, "status": "queued", "billed": False, "created_at": now, "updated_at": now}
        async with self.engine.begin() as conn:
            await conn.execute(video_jobs.insert().values(row))
        return VideoJob(row["id"], account_id, model, provider, task_id, "queued", None, None, int(now.timestamp()))

    async def get(self, job_id: str) -> VideoJob | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(video_jobs).where(video_jobs.c.id == job_id))).first()
        return _job(row) if row else None

    async def set_status(self, job_id: str, status: str, error: str | None) -> bool:
        """True for the one caller that changed the status (however many polls race here)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                video_jobs.update().where(video_jobs.c.id == job_id, video_jobs.c.status.not_in(("completed", status)))
                .values(status=status, error=error, updated_at=datetime.now(UTC)))
        return result.rowcount == 1

    async def complete(self, job_id: str, file_id: str) -> bool:
        """Mark the job completed and billed; True for the one caller that did it first (that
        caller bills the video: however many polls race here, only one row changes)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                video_jobs.update().where(video_jobs.c.id == job_id, video_jobs.c.billed == sa.false())
                .values(status="completed", file_id=file_id, billed=True, updated_at=datetime.now(UTC)))
        return result.rowcount == 1
