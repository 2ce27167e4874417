"""Each reload of gateway.yaml is counted, logged once with its outcome, and its digest published."""
import hashlib
import json
import logging
from pathlib import Path

from prometheus_client import REGISTRY

from schemas import config_reload
from schemas.gateway import ConfigFile
from schemas.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _config(tmp_path) -> ConfigFile:
    path = tmp_path / "gateway.yaml"
    path.write_bytes((ROOT / "gateway.yaml").read_bytes())
    config = ConfigFile(path)
    config_reload.loaded(config)
    return config


def test_applied_reload_counts_publishes_its_digest_and_logs_one_line(tmp_path, caplog):
    config = _config(tmp_path)
    before = _value("clew_config_reloads_total", result="applied")
    config.path.write_text(config.path.read_text() + "\n# edited\n")
    with caplog.at_level(logging.INFO, logger="clew.config"):
        config_reload.record(config, config.reload_if_changed())
    digest = hashlib.sha256(config.path.read_bytes()).hexdigest()
    assert _value("clew_config_reloads_total", result="applied") == before + 1
    assert _value("clew_config_info", sha256=digest) == 1 and _value("clew_config_last_reload_successful") == 1
    assert [(r.fields["event"], r.fields["result"], r.fields["sha256"]) for r in caplog.records] == [
        ("config_reload", "applied", digest)]


def test_only_the_digest_in_use_is_exported(tmp_path):
    config = _config(tmp_path)
    old = config.sha256
    config.path.write_text(config.path.read_text() + "\n# edited again\n")
    config_reload.record(config, config.reload_if_changed())
    assert _value("clew_config_info", sha256=old) == 0


def test_invalid_reload_is_counted_logged_with_its_errors_and_keeps_the_digest(tmp_path, caplog):
    config = _config(tmp_path)
    kept = config.sha256
    before = _value("clew_config_reloads_total", result="invalid")
    config.path.write_text("version: 2\n")
    with caplog.at_level(logging.INFO, logger="clew.config"):
        config_reload.record(config, config.reload_if_changed())
    assert _value("clew_config_reloads_total", result="invalid") == before + 1
    assert _value("clew_config_last_reload_successful") == 0 and _value("clew_config_info", sha256=kept) == 1
    [record] = caplog.records
    line = json.loads(JsonFormatter("test").format(record))
    assert line["level"] == "error" and line["result"] == "invalid" and line["errors"]
    assert "is invalid" in line["message"]


def test_unchanged_file_is_no_reload(tmp_path, caplog):
    config = _config(tmp_path)
    with caplog.at_level(logging.INFO, logger="clew.config"):
        config_reload.record(config, config.reload_if_changed())
    assert caplog.records == []
