"""The public API's OpenAPI 3.1 document (openapi.yaml beside this module), loaded once."""
import functools
import json
from pathlib import Path

import yaml

DOCUMENT = Path(__file__).with_name("openapi.yaml")


@functools.cache
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


@functools.cache
def document_json() -> bytes:
    # Built once: the document only changes with a release.
    return json.dumps(document(), separators=(",", ":")).encode()
