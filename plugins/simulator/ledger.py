"""What the simulator served, as the provider would bill it: tests compare the gateway's metering with it."""
import hashlib
from collections import deque

MAX_ENTRIES = 100_000  # oldest entries drop off, so a long benchmark cannot grow memory without bound


def key_fingerprint(key: str) -> str:
    """Enough of the key's SHA-256 to tell keys apart; the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class Ledger:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: deque[dict] = deque(maxlen=max_entries)

    def record(self, entry: dict) -> dict:
        # The entry is kept by reference: a stream that is cut short updates it in place.
        self._entries.append(entry)
        return entry

    def query(self, provider: str | None = None, model: str | None = None, api: str | None = None) -> list[dict]:
        # Chat entries carry no `api`: they came first, and the benchmark records millions of them.
        return [entry for entry in self._entries
                if (provider is None or entry["provider"] == provider) and (model is None or entry["model"] == model)
                and (api is None or entry.get("api", "chat") == api)]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
