"""Reading a log file Envoy appends to, line by line, from where the last reader stopped.

A position is (inode, offset): the file it points into, and the byte after the last complete line
read. It survives a restart (the reader keeps it in plugins.delivery_store) and a rotation: when the
path names a new file, the old one is read to its end first (Envoy may flush into it for a moment
after it reopened its logs), and a position in a file rotated away while the reader was stopped is
found again as `<path>.1`. A file truncated in place (copytruncate) is read again from its start. A
line Envoy has not finished writing is left for the next read.
"""
import os
import time
from dataclasses import dataclass
from pathlib import Path

READ_BYTES = 1 << 20  # at most this much per read: a long backlog is worked off in steps
# Envoy flushes its access logs every second (--file-flush-interval-msec 1000): an old file stays
# open this long after the path named a new one, so a late flush into it is still read.
ROTATION_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class Position:
    inode: int
    offset: int


def rotated_name(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


class LogTail:
    def __init__(self, path: Path, start: Position | None = None, clock=time.monotonic):
        self.path, self.clock = Path(path), clock
        self._start = start
        self._file = None
        self._inode = 0
        self._offset = 0
        self._moved_since: float | None = None  # when the path was first seen naming another file

    @property
    def position(self) -> Position | None:
        return Position(self._inode, self._offset) if self._file is not None else self._start

    @property
    def at_path(self) -> bool:
        """The file being read is the one the path names (not one rotated away)."""
        return self._file is not None and _inode(self.path) == self._inode

    def size(self) -> int:
        return os.fstat(self._file.fileno()).st_size if self._file is not None else 0

    def read(self) -> list[bytes]:
        """The complete lines written since the last read (possibly none)."""
        if self._file is None and not self._open_start():
            return []
        if self.size() < self._offset:  # truncated in place: what it holds now is new
            self._offset = 0
        self._file.seek(self._offset)
        data = self._file.read(READ_BYTES)
        end = data.rfind(b"\n") + 1
        if end:
            self._offset += end
            self._moved_since = None
            return data[:end].splitlines()
        if self._moved():
            self._switch(self.path, 0)
            return self.read()
        return []

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_start(self) -> bool:
        start = self._start
        if start is not None:
            for candidate in (self.path, rotated_name(self.path)):
                if _inode(candidate) == start.inode:
                    return self._switch(candidate, start.offset)
        return self._switch(self.path, 0)

    def _switch(self, path: Path, offset: int) -> bool:
        try:
            new = open(path, "rb")  # noqa: SIM115 - kept open across reads, closed by close()
        except FileNotFoundError:
            return False
        self.close()
        self._file, self._inode, self._offset = new, os.fstat(new.fileno()).st_ino, offset
        self._moved_since = None
        return True

    def _moved(self) -> bool:
        """At the end of the file, and the path has named another file for the whole grace period."""
        current = _inode(self.path)
        if current is None or current == self._inode:
            self._moved_since = None
            return False
        now = self.clock()
        if self._moved_since is None:
            self._moved_since = now
        return now - self._moved_since >= ROTATION_GRACE_SECONDS
