"""`python -m plugins.simulator`: flags and environment, and the one line it logs when up."""
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from plugins.simulator.__main__ import parse_args

ROOT = Path(__file__).resolve().parents[3]


def test_flags_fall_back_to_environment(monkeypatch):
    monkeypatch.setenv("CLEW_SIM_PORT", "9123")
    monkeypatch.setenv("CLEW_SIM_CHUNKS", "7")
    args = parse_args(["--latency-ms", "5"])
    assert (args.port, args.chunks, args.latency_ms, args.chunk_interval_ms) == (9123, 7, 5, 0)
    assert parse_args(["--port", "1"]).port == 1


def test_module_logs_listening_line_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "plugins.simulator", "--host", "127.0.0.1", "--port", "0"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "provider simulator listening on 127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health", timeout=5) as resp:
            assert json.load(resp)["status"] == "ok"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
