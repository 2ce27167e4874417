"""Driving load with wrk: the Lua script, the run, and its results as numbers.

The script's `done()` prints one JSON line, so nothing depends on wrk's human-readable output.
wrk counts responses with a status of 400 or more under `errors.status`; together with connect,
read, write and timeout errors they are the scenario's errors.
"""
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

MARKER = "BENCH_JSON "
_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f}\n',
    "MARKER", summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
""".replace("MARKER", MARKER)


@dataclass
class Result:
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    error_detail: dict

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0

    def as_dict(self) -> dict:
        return {**asdict(self), "error_rate": self.error_rate}


def ensure_wrk() -> str:
    """wrk's path, installing the Debian package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is not None and shutil.which("apt-get"):
        print("wrk is not installed: installing the Debian package (apt-get install -y wrk)", flush=True)
        install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
            subprocess.run(install, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("make bench needs wrk (https://github.com/wg/wrk) and could not install it: "
                     "run `apt-get install wrk` as root, or put wrk on PATH")


def _lua_string(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def write_script(path: Path, body: str, headers: dict[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body)}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]  # not "[["
    path.write_text("\n".join(lines) + "\n" + _DONE)
    return path


def run(url: str, script: Path, connections: int, seconds: float) -> Result:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
               "--latency", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[len(MARKER):])
    detail = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")}
    duration = raw["duration_us"] / 1e6
    return Result(connections=connections, requests=raw["requests"], seconds=duration,
                  rps=raw["requests"] / duration if duration else 0.0,
                  p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
                  mean_ms=raw["mean_us"] / 1000, max_ms=raw["max_us"] / 1000,
                  errors=sum(detail.values()), error_detail=detail)
