"""The public API's OpenAPI 3.1 document (openapi.yaml beside this module), loaded once."""
import copy
import functools
import json
from pathlib import Path

import yaml

DOCUMENT = Path(__file__).with_name("openapi.yaml")


@functools.cache
def _loaded() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def document() -> dict:
    """A copy of its own for each caller: tools such as schemathesis change the dict they are given."""
    return copy.deepcopy(_loaded())


@functools.cache
def document_json() -> bytes:
    # Built once: the document only changes with a release.
    return json.dumps(_loaded(), separators=(",", ":")).encode()
