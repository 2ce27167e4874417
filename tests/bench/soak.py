"""python -m tests.bench.soak (`make soak`): does any process of the gateway grow under steady load?

The full gateway (PostgreSQL + Redis, two sidecars) in front of the bench's fixed-response upstream,
for SOAK_MINUTES (default 30) of mixed load: JSON completions and 20-chunk streams side by side.
Every SAMPLE_SECONDS the RSS of each process of ours is read; after the warm-up (the first fifth,
at least two minutes when the run is long enough) a least-squares line through each process's
samples gives its slope in MB per minute, printed with a verdict: flat when the slope stays under
FLAT_MB_PER_MINUTE. Samples go to var/bench/soak.json.
"""
import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from tests.bench import gateway as bench_gateway
from tests.bench import wrk
from tests.bench.__main__ import OUT, _on_sigterm, _require_services, _seconds
from tests.bench.procstat import gateway_processes, rss_mb
from tests.bench.scenarios import PATH, request_body
from tests.bench.upstream import STREAM_HEADER, Envoy, upstream_config

SAMPLE_SECONDS = 10.0
FLAT_MB_PER_MINUTE = 0.1  # 6 MB an hour; the leak this tool was written for grew 0.5 MB a minute
CONNECTIONS = {"json": 6, "stream": 6}  # steady, not saturating: the box keeps room to sample


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return 60 * sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread if spread else 0.0


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
    named = {f"sidecar-{i}": pid for i, pid in enumerate(roles["sidecar"])}
    return {**named, "envoy": roles["envoy"][0], "control-plane": roles["control_plane"][0]}


def _sample(pids: dict[str, int], seconds: float, stop: threading.Event) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
    started = time.monotonic()
    while not stop.is_set() and time.monotonic() - started < seconds:
        elapsed = time.monotonic() - started
        for name, pid in pids.items():
            samples[name].append((elapsed, rss_mb(pid)))
        print(f"  {elapsed / 60:5.1f} min  " + "  ".join(f"{n} {s[-1][1]:.1f} MB" for n, s in samples.items()),
              flush=True)
        stop.wait(SAMPLE_SECONDS)
    return samples


def verdicts(samples: dict[str, list[tuple[float, float]]], warmup: float) -> list[dict]:
    rows = []
    for name, series in samples.items():
        steady = [(t, m) for t, m in series if t >= warmup]
        slope = slope_per_minute(steady)
        rows.append({"process": name, "first_mb": series[0][1], "last_mb": series[-1][1],
                     "slope_mb_per_min": slope, "flat": slope < FLAT_MB_PER_MINUTE})
    return rows


def _soak(minutes: float) -> int:
    seconds = minutes * 60
    warmup = min(max(seconds / 5, min(120.0, seconds / 2)), seconds / 2)
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
        print(f"soak: {minutes:g} min of JSON + streams ({CONNECTIONS}), RSS every {SAMPLE_SECONDS:g} s, "
              f"slopes after {warmup / 60:.1f} min of warm-up", flush=True)
        load = _load(workdir, gateway.url, key, seconds)
        stack.callback(lambda: [p.terminate() for p in load if p.poll() is None])
        samples = _sample(pids, seconds, threading.Event())
        for process in load:
            process.wait(30)
    rows = verdicts(samples, warmup)
    print()
    for row in rows:
        print(f"{row['process']:<14} {row['first_mb']:7.1f} -> {row['last_mb']:7.1f} MB  "
              f"slope {row['slope_mb_per_min']:+.3f} MB/min  {'flat' if row['flat'] else 'NOT FLAT'}")
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
