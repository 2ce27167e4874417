"""YAML files operators edit besides gateway.yaml (the plugin catalog, the CLI releases).

Each is checked against a JSON Schema when the control plane starts; a bad file stops the start
with every problem named by its path, instead of serving half a catalog.
"""
import datetime
from pathlib import Path

import jsonschema
import yaml


class DataFileError(Exception):
    def __init__(self, path: Path, errors: list[str]):
        super().__init__(f"{path}: " + "; ".join(errors))
        self.path, self.errors = path, errors


def _plain(value):
    # YAML reads `2026-03-02` as a date; the schemas (and the API) speak ISO strings.
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def load(path: Path, schema: dict) -> dict:
    try:
        data = _plain(yaml.safe_load(Path(path).read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(path, [str(exc)]) from exc
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise DataFileError(path, [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors])
    return data
