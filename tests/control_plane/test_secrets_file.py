"""Secrets a local install generates for itself: the BYOK encryption key among them."""
import base64
import json

from control_plane.secrets_file import ensure_secrets


def test_generated_byok_key_is_an_aes_256_key_in_base64(tmp_path):
    env = {}
    ensure_secrets(tmp_path, env)
    assert len(base64.b64decode(env["CLEW_BYOK_KEY"], validate=True)) == 32
    assert json.loads((tmp_path / "secrets.json").read_text())["CLEW_BYOK_KEY"] == env["CLEW_BYOK_KEY"]


def test_byok_key_is_added_to_an_older_install_keeping_its_other_secrets(tmp_path):
    older = {"CLEW_JWT_SECRET": "j" * 64, "CLEW_INTERNAL_SECRET": "i" * 64}
    (tmp_path / "secrets.json").write_text(json.dumps(older))
    env = {}
    ensure_secrets(tmp_path, env)
    assert {k: env[k] for k in older} == older and env["CLEW_BYOK_KEY"]


def test_byok_key_from_the_environment_wins(tmp_path):
    env = {"CLEW_BYOK_KEY": base64.b64encode(b"e" * 32).decode()}
    ensure_secrets(tmp_path, env)
    assert env["CLEW_BYOK_KEY"] == base64.b64encode(b"e" * 32).decode()
