"""`clew config validate` as operators run it."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLEW = str(Path(sys.executable).with_name("clew"))


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CLEW, "config", "validate", str(path)], capture_output=True, text=True, cwd=ROOT)


def test_valid_file_exits_0():
    result = _validate(ROOT / "gateway.yaml")
    assert result.returncode == 0 and "valid" in result.stdout


def test_invalid_file_prints_each_error_with_its_path(tmp_path):
    bad = tmp_path / "gateway.yaml"
    bad.write_text((ROOT / "gateway.yaml").read_text().replace("requests_per_minute: 100,", "requests_per_minute: -1,")
                   .replace("session_ttl_seconds: 86400", "session_ttl_seconds: soon"))
    result = _validate(bad)
    assert result.returncode == 1
    assert "auth.session_ttl_seconds: 'soon' is not of type 'integer'" in result.stderr
    assert "tiers.pro.requests_per_minute: -1 is less than the minimum of 1" in result.stderr
