"""The dashboard's static files and the version that names them in URLs.

Asset URLs carry a digest of every file's content (/app/assets/<version>/js/main.js), so browsers
may cache them for a year and still never run a stale module next to a fresh one. The digest is
recomputed only when a file's size or mtime changes (an edit while `make run` is up).
"""
import hashlib
from pathlib import Path

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
STATIC_ROOT = Path(__file__).with_name("static")


class StaticAssets:
    def __init__(self, root: Path = STATIC_ROOT):
        self.root = root.resolve()
        self._stamp: tuple = ()
        self._version = ""

    def _files(self) -> list[Path]:
        return sorted(path for path in self.root.rglob("*") if path.is_file())

    def version(self) -> str:
        files = self._files()
        stamp = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
        if stamp != self._stamp:
            digest = hashlib.sha256()
            for path in files:
                digest.update(path.relative_to(self.root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
            self._stamp, self._version = stamp, digest.hexdigest()[:16]
        return self._version

    def find(self, relative: str) -> Path | None:
        """The file an asset URL names, if it is one we serve (never outside the root, never a dotfile)."""
        parts = relative.split("/")
        if any(not part or part.startswith(".") or "\\" in part for part in parts):
            return None
        try:
            path = self.root.joinpath(*parts).resolve()
            if self.root not in path.parents or not path.is_file() or path.suffix not in CONTENT_TYPES:
                return None
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte: no such asset
            return None
        return path

    def index_html(self, assets_url: str) -> str:
        return (self.root / "index.html").read_text().replace("%ASSETS%", assets_url)
