"""`clew config diff OLD NEW`: what an edit changes, in words, as operators run it."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from control_plane.config_diff import diff, usd
from schemas.gateway import GatewayConfig

ROOT = Path(__file__).resolve().parents[2]
CLEW = str(Path(sys.executable).with_name("clew"))


def _shipped() -> dict:
    return yaml.safe_load((ROOT / "gateway.yaml").read_text())


def _diff(change) -> list[str]:
    old, new = _shipped(), _shipped()
    change(new)
    return diff(GatewayConfig(old), GatewayConfig(new))


def test_added_model_names_its_provider_and_prices():
    lite = {"provider": "deepseek", "upstream_model": "deepseek-v4-lite", "context_window": 64000,
            "price_per_1m": {"input": "0.10", "output": "0.2"}}
    assert _diff(lambda d: d["models"].update({"deepseek-v4-lite": lite})) == [
        "model added: deepseek-v4-lite (deepseek, $0.10/$0.20 per 1M)"]


def test_changed_price_says_which_side_from_and_to():
    assert _diff(lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(input="12")) == [
        "price changed: gpt-5.5 input $10.00 → $12.00 per 1M"]


def test_same_price_written_differently_is_no_change():
    assert _diff(lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(input="10.0")) == []


def test_changed_tier_limit():
    assert _diff(lambda d: d["tiers"]["pro"].update(requests_per_minute=200)) == [
        "tier changed: pro requests_per_minute 100 → 200"]


def test_removed_provider_and_its_model():
    def remove(d):
        del d["providers"]["nvidia"]
        d["models"] = {k: v for k, v in d["models"].items() if v["provider"] != "nvidia"}
    nvidia_models = sorted(name for name, model in _shipped()["models"].items() if model["provider"] == "nvidia")
    assert _diff(remove) == ["provider removed: nvidia", *(f"model removed: {name}" for name in nvidia_models)]
    assert "model removed: nvidia/nemotron" in _diff(remove)


def test_added_provider_and_changed_base_url():
    def change(d):
        d["providers"]["together"] = {"base_url": "https://api.together.xyz", "chat_path": "/v1/chat/completions",
                                      "api_key_env": "TOGETHER_API_KEY", "adapter": "openai_chat"}
        d["providers"]["groq"]["base_url"] = "https://eu.groq.com"
    assert _diff(change) == ["provider added: together (https://api.together.xyz, key from TOGETHER_API_KEY)",
                             "provider changed: groq base_url https://api.groq.com → https://eu.groq.com"]


def test_model_moved_to_another_provider():
    assert _diff(lambda d: d["models"]["groq/llama4"].update(provider="deepseek")) == [
        "model changed: groq/llama4 provider groq → deepseek"]


def test_other_settings_by_their_path():
    assert _diff(lambda d: d["upstream"].update(timeout_seconds=60)) == [
        "setting changed: upstream.timeout_seconds 120 → 60"]


def test_image_model_price_per_image():
    def change(d):
        d["models"]["dall-e-4"] = {"provider": "openai", "kind": "image", "upstream_model": "dall-e-4",
                                   "price_per_image": "0.125", "sizes": ["1024x1024"]}
    old, new = _shipped(), _shipped()
    change(old)
    change(new)
    new["models"]["dall-e-4"]["price_per_image"] = "0.2"
    assert _diff(change) == ["model added: dall-e-4 (openai, image, $0.125 per image)"]
    assert diff(GatewayConfig(old), GatewayConfig(new)) == ["price changed: dall-e-4 $0.125 → $0.20 per image"]


def test_added_embedding_model_names_its_input_price():
    small = {"provider": "openai", "kind": "embedding", "upstream_model": "text-embedding-3-tiny",
             "price_per_1m": {"input": "0.01"}}
    assert _diff(lambda d: d["models"].update({"text-embedding-3-tiny": small})) == [
        "model added: text-embedding-3-tiny (openai, embedding, $0.01 input per 1M)"]


def test_changed_cached_input_price():
    assert _diff(lambda d: d["models"]["gpt-5.5"]["price_per_1m"].update(cached_input="5")) == [
        "price changed: gpt-5.5 cached_input $1.00 → $5.00 per 1M"]


def test_unlimited_tokens_read_as_null():
    assert _diff(lambda d: d["tiers"]["pro"].update(monthly_tokens=None)) == [
        "tier changed: pro monthly_tokens 5000000 → null"]


@pytest.mark.parametrize("amount, shown", [("1.5", "$1.50"), ("0.125", "$0.125"), ("10", "$10.00"), ("0.100", "$0.10")])
def test_prices_show_cents_and_a_third_decimal_only_when_there_is_one(amount, shown):
    assert usd(amount) == shown


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([CLEW, "config", "diff", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_cli_prints_the_lines_and_exits_0(tmp_path):
    new = tmp_path / "gateway.yaml"
    new.write_text((ROOT / "gateway.yaml").read_text().replace("requests_per_minute: 100,",
                                                               "requests_per_minute: 200,"))
    result = _run(ROOT / "gateway.yaml", new)
    assert (result.returncode, result.stdout) == (0, "tier changed: pro requests_per_minute 100 → 200\n")


def test_cli_says_no_differences_for_the_same_file():
    result = _run(ROOT / "gateway.yaml", ROOT / "gateway.yaml")
    assert (result.returncode, result.stdout) == (0, "no differences\n")


def test_cli_invalid_file_prints_errors_with_paths_and_exits_1(tmp_path):
    bad = tmp_path / "gateway.yaml"
    bad.write_text((ROOT / "gateway.yaml").read_text().replace("requests_per_minute: 100,", "requests_per_minute: -1,"))
    result = _run(ROOT / "gateway.yaml", bad)
    assert result.returncode == 1 and result.stdout == ""
    assert f"{bad}: tiers.pro.requests_per_minute: -1 is less than the minimum of 1" in result.stderr
