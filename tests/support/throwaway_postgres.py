"""A PostgreSQL server of a test's own, from the installed binaries, to stop and start at will.

The shared server on :5432 is never touched: outage tests stop this one instead.
"""
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port


def _binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"{name} not found under /usr/lib/postgresql (install postgresql)")
    return str(found[-1])


def _as_postgres(*argv: str) -> subprocess.CompletedProcess:
    # PostgreSQL refuses to run as root; the tests run as root here and in CI.
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=True)


@dataclass
class ThrowawayPostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_postgres(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-l", str(self.directory / "log"),
                     "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1", "-w", "start")

    def stop(self) -> None:
        _as_postgres(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", _binary("pg_ctl"), "-D", str(self.directory / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


def create() -> ThrowawayPostgres:
    directory = Path(tempfile.mkdtemp(prefix="clew-pg-"))
    shutil.chown(directory, "postgres", "postgres")
    server = ThrowawayPostgres(directory, free_port())
    _as_postgres(_binary("initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
    server.start()
    return server
