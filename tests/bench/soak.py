"""python -m tests.bench.soak (`make soak`): does any process of the gateway grow under steady load?

The full gateway (PostgreSQL + Redis, two sidecars) in front of the bench's fixed-response upstream,
for SOAK_MINUTES (default 30) of mixed load: JSON completions and 20-chunk streams side by side.
Every SAMPLE_SECONDS the RSS of each process of ours is read, with the requests each sidecar has
served so far (its ext_proc streams; Envoy and the control plane see them all). The first half of
the run is warm-up (pools, caches and allocator arenas fill, then stop). Over the second half, a
least-squares line of RSS against requests served gives each process's growth in bytes per
request, printed with its slope in MB per minute and a verdict: flat when it stays under
FLAT_BYTES_PER_REQUEST. Per request, not per minute, so the verdict does not depend on how fast
a busy machine let the load run; and a line through every sample, so one step of the allocator
(a burst of concurrent requests) moves it less than a steady leak of a few bytes a request.
Samples go to var/bench/soak.json.
"""
import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from tests.bench import gateway as bench_gateway
from tests.bench import wrk
from tests.bench.__main__ import OUT, _on_sigterm, _require_services, _seconds
from tests.bench.procstat import cmdline, gateway_processes, rss_mb
from tests.bench.scenarios import PATH, request_body
from tests.bench.upstream import STREAM_HEADER, Envoy, upstream_config

SAMPLE_SECONDS = 10.0
# The leak this tool was written for kept about 300 bytes a request (a cancelled gRPC call's batch);
# keeping even one small Python object per request is 30 bytes or more.
FLAT_BYTES_PER_REQUEST = 16
MIB = 1024 * 1024
CONNECTIONS = {"json": 6, "stream": 6}  # steady, not saturating: the box keeps room to sample
# Every AI request opens one ext_proc stream, whose first message is its request headers.
SERVED = re.compile(r'^clew_sidecar_ext_proc_phase_seconds_count\{phase="request_headers"\} (\S+)$', re.M)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points: y per unit of x."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    return 60 * slope(samples)


def _load(workdir: Path, url: str, key: str, seconds: float) -> list[subprocess.Popen]:
    """One wrk per kind of request, running for the whole soak."""
    runs = []
    for kind, connections in CONNECTIONS.items():
        headers = {"Content-Type": "application/json", "X-API-Key": key}
        if kind == "stream":
            headers[STREAM_HEADER] = "1"
        script = wrk.write_script(workdir / f"soak-{kind}.lua", request_body(kind == "stream"), headers)
        command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                   "-s", str(script), url + PATH]
        runs.append(subprocess.Popen(command, stdout=(workdir / f"soak-{kind}.out").open("w"),
                                     stderr=subprocess.STDOUT))
    return runs


def _named(clew_up_pid: int) -> dict[str, int]:
    roles = gateway_processes(clew_up_pid)
    named = {f"sidecar-{_index(pid)}": pid for pid in roles["sidecar"]}
    return {**named, "envoy": roles["envoy"][0], "control-plane": roles["control_plane"][0]}


def _index(sidecar_pid: int) -> int:
    """The sidecar's --index: its metrics port is CLEW_SIDECAR_METRICS_PORT plus that."""
    return int(re.search(r"--index (\d+)", cmdline(sidecar_pid)).group(1))


def _served(metrics_url: str) -> int:
    """The AI requests a sidecar has served since it started, from its own metrics."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        found = SERVED.search(response.read().decode())
    return int(float(found.group(1))) if found else 0


def _sample(pids: dict[str, int], metrics: dict[str, str], seconds: float,
            stop: threading.Event) -> dict[str, list[tuple[float, float, int]]]:
    """(seconds, MB, requests served) per process; Envoy and the control plane count every sidecar's."""
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in pids}
    started = time.monotonic()
    while not stop.is_set() and time.monotonic() - started < seconds:
        elapsed = time.monotonic() - started
        served = {name: _served(url) for name, url in metrics.items()}
        for name, pid in pids.items():
            samples[name].append((elapsed, rss_mb(pid), served.get(name, sum(served.values()))))
        print(f"  {elapsed / 60:5.1f} min  " + "  ".join(f"{n} {s[-1][1]:.1f} MB" for n, s in samples.items()),
              flush=True)
        stop.wait(SAMPLE_SECONDS)
    return samples


def verdicts(samples: dict[str, list[tuple[float, float, int]]], warmup: float) -> list[dict]:
    """Per process: growth over the samples after `warmup` seconds, per minute and per request served."""
    rows = []
    for name, series in samples.items():
        steady = [sample for sample in series if sample[0] >= warmup]
        requests = steady[-1][2] - steady[0][2]
        per_request = MIB * slope([(n, mb) for _, mb, n in steady]) if requests else None
        # A process that served nothing is flat only if it did not grow at all.
        flat = per_request < FLAT_BYTES_PER_REQUEST if per_request is not None else steady[-1][1] <= steady[0][1]
        rows.append({"process": name, "first_mb": series[0][1], "last_mb": series[-1][1],
                     "steady_from_mb": steady[0][1], "requests": requests,
                     "slope_mb_per_min": slope_per_minute([(t, mb) for t, mb, _ in steady]),
                     "bytes_per_request": per_request, "flat": flat})
    return rows


def _soak(minutes: float) -> int:
    seconds = minutes * 60
    warmup = seconds / 2
    workdir = OUT / "soak-run"
    (workdir / "gateway").mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        upstream = Envoy("upstream", workdir, upstream_config).start()
        stack.callback(upstream.stop)
        backend = stack.enter_context(bench_gateway.bench_backend())
        gateway = bench_gateway.start(backend, workdir / "gateway", upstream.url)
        stack.callback(gateway.stop)
        key = asyncio.run(bench_gateway.api_key(gateway))
        pids = _named(gateway.process.pid)
        metrics_port = int(gateway.env["CLEW_SIDECAR_METRICS_PORT"])
        metrics = {name: f"http://127.0.0.1:{metrics_port + _index(pid)}/metrics"
                   for name, pid in pids.items() if name.startswith("sidecar-")}
        print(f"soak: {minutes:g} min of JSON + streams ({CONNECTIONS}), RSS every {SAMPLE_SECONDS:g} s, "
              f"growth measured after {warmup / 60:.1f} min of warm-up", flush=True)
        load = _load(workdir, gateway.url, key, seconds)
        stack.callback(lambda: [p.terminate() for p in load if p.poll() is None])
        samples = _sample(pids, metrics, seconds, threading.Event())
        for process in load:
            process.wait(30)
    rows = verdicts(samples, warmup)
    print()
    print(f"growth over the second half, flat under {FLAT_BYTES_PER_REQUEST} bytes per request served:")
    for row in rows:
        per_request = "-" if row["bytes_per_request"] is None else f"{row['bytes_per_request']:+.1f}"
        print(f"{row['process']:<14} {row['first_mb']:7.1f} -> {row['steady_from_mb']:7.1f} -> "
              f"{row['last_mb']:7.1f} MB  {row['slope_mb_per_min']:+.3f} MB/min  "
              f"{per_request} B/request over {row['requests']} requests  {'flat' if row['flat'] else 'NOT FLAT'}")
    for kind in CONNECTIONS:
        print(f"wrk {kind}: " + " ".join((workdir / f"soak-{kind}.out").read_text().split()[-12:]))
    path = OUT / "soak.json"
    path.write_text(json.dumps({"minutes": minutes, "warmup_seconds": warmup, "verdicts": rows,
                                "samples": samples}, indent=1))
    print(f"written: {path}")
    return 0 if all(row["flat"] for row in rows) else 1


def main() -> None:
    minutes = _seconds("SOAK_MINUTES", 30)
    wrk.ensure_wrk()
    _require_services()
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        raise SystemExit(_soak(minutes))
    except KeyboardInterrupt:
        print("interrupted: everything the soak started is stopped and its data removed", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
