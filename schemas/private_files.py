"""Local state is private to the user that runs the gateway: files 0600, directories 0700.

CLEW_HOME holds the SQLite database (accounts, key digests, sealed provider keys), secrets.json, the
TLS key and the mail outbox (live password-reset links). Every process of the gateway starts with a
umask that keeps whatever it creates private, and the files that matter most are also created with
an explicit mode, so they stay private when a library or an operator runs our code another way.
"""
import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def keep_new_files_private() -> None:
    """From now on this process and its children create files 0600 and directories 0700."""
    os.umask(PRIVATE_UMASK)


def private_directory(path: Path) -> Path:
    path = Path(path)
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    return path


def tighten(path: Path, mode: int = FILE_MODE) -> None:
    """Take group and other access away from an existing file (an install from before this rule).

    Best effort: a file owned by someone else or on a read-only volume is the operator's choice."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, mode)


def create_private_file(path: Path) -> None:
    """Make sure `path` exists, mode 0600, without truncating it: SQLite then creates its -wal,
    -shm and -journal files with the database file's own mode."""
    path = Path(path)
    private_directory(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    tighten(path)
