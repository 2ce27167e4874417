"""The files that matter most are private even when a process runs with a lax umask."""
import os
import stat

import sqlalchemy as sa

from schemas.database import create_engine


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_a_new_sqlite_database_and_its_wal_files_are_0600_under_a_lax_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state' / 'clew.db'}")
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        modes = {name: _mode(tmp_path / "state" / name) for name in os.listdir(tmp_path / "state")}
        await engine.dispose()
    finally:
        os.umask(previous)
    assert {"clew.db", "clew.db-wal", "clew.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600} and _mode(tmp_path / "state") == 0o700

