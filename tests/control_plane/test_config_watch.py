"""The renderer's order for each gateway.yaml edit: Envoy first, then the copy the sidecars follow."""
from pathlib import Path

import pytest
import yaml

from control_plane.config_watch import GRACE_SECONDS, ConfigWatch
from schemas.gateway import ConfigFile

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(tmp_path):
    source, published = tmp_path / "gateway.yaml", tmp_path / "run" / "gateway.yaml"
    source.write_bytes((ROOT / "gateway.yaml").read_bytes())
    events, clock = [], Clock()

    def render(config):
        # What the sidecars could see at the moment Envoy's files change.
        events.append(("render", set(config.providers), published.read_bytes() if published.exists() else None))

    watch = ConfigWatch(ConfigFile(source), render, published, clock)
    return source, published, watch, events, clock


def _edit(source: Path, change) -> bytes:
    data = yaml.safe_load(source.read_text())
    change(data)
    source.write_text(yaml.safe_dump(data, sort_keys=False))
    return source.read_bytes()


def test_the_sidecars_copy_starts_as_the_operators_file(setup):
    source, published, *_ = setup
    assert published.read_bytes() == source.read_bytes()


def test_an_edit_reaches_envoy_before_the_sidecars(setup):
    source, published, watch, events, _ = setup
    before = published.read_bytes()
    edited = _edit(source, lambda d: d["tiers"]["pro"].update(requests_per_minute=123))
    watch.check()
    assert [e[2] for e in events] == [before]  # rendered while the sidecars still had the old copy
    assert published.read_bytes() == edited


def test_a_removed_provider_leaves_envoy_only_after_the_sidecars_had_time_to_follow(setup):
    source, published, watch, events, clock = setup
    extra = {"base_url": "https://api.extra.example", "chat_path": "/v1/chat/completions",
             "api_key_env": "EXTRA_API_KEY", "adapter": "openai_chat"}
    _edit(source, lambda d: d["providers"].update(extra=extra))
    watch.check()
    _edit(source, lambda d: d["providers"].pop("extra"))
    watch.check()
    assert "extra" in events[-1][1]  # Envoy keeps it while a sidecar may still route there
    clock.now += GRACE_SECONDS - 0.1
    watch.check()
    assert len(events) == 2
    clock.now += 0.2
    watch.check()
    assert len(events) == 3 and "extra" not in events[-1][1]


def test_an_invalid_edit_changes_nothing(setup):
    source, published, watch, events, _ = setup
    before = published.read_bytes()
    source.write_text("models: [not, a, map\n")
    watch.check()
    assert (events, published.read_bytes()) == ([], before)


def test_a_render_failure_keeps_the_sidecars_on_the_previous_config(setup):
    source, published, watch, events, _ = setup
    before = published.read_bytes()
    watch.render = lambda config: (_ for _ in ()).throw(OSError("disk full"))
    _edit(source, lambda d: d["tiers"]["pro"].update(requests_per_minute=124))
    watch.check()
    assert published.read_bytes() == before
