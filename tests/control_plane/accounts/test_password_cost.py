"""The argon2id cost of new password hashes: the library's profile by default, gateway.yaml's when set."""
import asyncio
from pathlib import Path

import pytest
import yaml
from argon2 import extract_parameters

from control_plane.accounts import passwords
from schemas.gateway import ConfigError, load

ROOT = Path(__file__).resolve().parents[3]
OWASP_MINIMUM = {"memory_kib": 19456, "time_cost": 2, "parallelism": 1}


@pytest.fixture(autouse=True)
def default_cost():
    yield
    passwords.configure({})


def _parameters(password_hash: str):
    return extract_parameters(password_hash)


def test_by_default_new_hashes_use_rfc_9106s_low_memory_profile():
    params = _parameters(asyncio.run(passwords.hash_password("correct horse")))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (65536, 3, 4)


def test_the_configured_cost_is_what_new_hashes_carry():
    passwords.configure(OWASP_MINIMUM)
    params = _parameters(asyncio.run(passwords.hash_password("correct horse")))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)


def test_a_hash_made_at_another_cost_still_verifies():
    stored = asyncio.run(passwords.hash_password("correct horse"))
    passwords.configure(OWASP_MINIMUM)
    assert asyncio.run(passwords.verify_password(stored, "correct horse"))
    assert not asyncio.run(passwords.verify_password(stored, "wrong horse"))


@pytest.mark.parametrize("cost", [{"memory_kib": 8192}, {"time_cost": 1}, {"parallelism": 0}, {"rounds": 5}])
def test_gateway_yaml_refuses_a_cost_below_owasps_minimum(tmp_path, cost):
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    config["auth"]["password_hash"] = cost
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError):
        load(path)
