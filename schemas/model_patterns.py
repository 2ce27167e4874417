"""Which models a key may use: a list of model ids and patterns, where `*` matches any run of
characters (`deepseek-*`). Routers are allowed by their name like any model. Both sides use it:
the sidecar refuses other models, the control plane lists only the allowed ones.
"""
import json
import re
from functools import lru_cache

MAX_PATTERNS = 100
MAX_PATTERN_LENGTH = 100
_VALID = re.compile(r"[A-Za-z0-9._:/*@+-]+")


class InvalidPatterns(ValueError):
    pass


def validate(patterns) -> list[str]:
    """The patterns as stored, or InvalidPatterns with a message a client can act on."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise InvalidPatterns("allowed_models must be a list of model ids or patterns (strings)")
    if not patterns or len(patterns) > MAX_PATTERNS:
        raise InvalidPatterns(f"allowed_models must hold 1 to {MAX_PATTERNS} entries (null: every model)")
    for pattern in patterns:
        if len(pattern) > MAX_PATTERN_LENGTH or not _VALID.fullmatch(pattern):
            raise InvalidPatterns(f"'{pattern[:MAX_PATTERN_LENGTH]}' is not a model id or pattern "
                                  "(letters, digits, . _ : / @ + - and * as a wildcard)")
    return list(dict.fromkeys(patterns))


def dump(patterns: list[str] | None) -> str | None:
    return None if patterns is None else json.dumps(patterns)


def load(stored: str | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(json.loads(stored))


@lru_cache(maxsize=4096)
def _regex(patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(".*".join(map(re.escape, p.split("*"))) for p in patterns))


def allows(patterns: tuple[str, ...] | None, model: str) -> bool:
    return patterns is None or _regex(patterns).fullmatch(model) is not None
