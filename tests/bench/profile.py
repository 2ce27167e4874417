"""python -m tests.bench.profile: where the gateway's CPU goes per JSON request (`make bench-profile`).

Starts the bench's gateway (tests.bench.gateway: PostgreSQL + Redis, the fixed-response upstream),
drives JSON chat requests at PROFILE_CONNECTIONS (default 8) for BENCH_SECONDS (default 20), and prints
- CPU ms per request of every thread of the sidecars and of Envoy (Envoy's workers are the threads
  named wrk:worker_N; a sidecar's main thread runs the asyncio loop, its event_engine threads gRPC's I/O);
- ext_proc messages per request, from Envoy's admin /stats (4 today: request headers and body,
  response headers and body);
- with PROFILE_PYSPY=1, py-spy's samples of each sidecar while it holds the GIL (the Python work,
  native gRPC glue included, showing as the frame that called it): the hottest frames, inclusive and
  self, in % of the samples. The raw profiles stay in var/bench/profile/ (py-spy's "raw" format,
  which flamegraph.pl and speedscope read). py-spy must be installed (`pip install py-spy`).
Per-thread CPU comes from /proc, so it holds on a busy machine better than requests per second do.
"""
import asyncio
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from tests.bench import gateway as bench_gateway
from tests.bench import wrk
from tests.bench.procstat import TICK_MS, gateway_processes
from tests.bench.scenarios import Scenario, request_body
from tests.bench.upstream import Envoy, upstream_config
from tests.support.stack import ROOT

OUT = ROOT / "var" / "bench" / "profile"
EXT_PROC_STAT = re.compile(r"^http\.http\.ext_proc\.(stream_msgs_sent|stream_msgs_received|streams_started): (\d+)$")
TOP = 25


def thread_cpu_ms(pid: int) -> dict[tuple[int, int, str], float]:
    """CPU ms used so far by each thread of `pid`, keyed by (pid, thread id, thread name)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat, name = (task / "stat").read_text(), (task / "comm").read_text().strip()
        except OSError:
            continue  # the thread ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()
        found[(pid, int(task.name), name)] = (int(fields[11]) + int(fields[12])) * TICK_MS
    return found


def ext_proc_counts(stats_text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in map(EXT_PROC_STAT.match, stats_text.splitlines()) if m}


def hottest(raw_lines, top: int = TOP) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, the `top` frames by inclusive samples, by self samples) of py-spy raw output: lines of
    `frame;frame;... count`, outermost first. A frame's line number is dropped: a function is one row."""
    inclusive, own, total = Counter(), Counter(), 0
    for line in raw_lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    return total, inclusive.most_common(top), own.most_common(top)


def _percent_lines(title: str, rows: list[tuple[str, int]], total: int) -> list[str]:
    return [title] + [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in rows]


def _stats(admin_port: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats", timeout=10) as response:
        return ext_proc_counts(response.read().decode())


def _py_spy(pids: list[int], seconds: float) -> list[subprocess.Popen]:
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(binary).exists():
        raise SystemExit("PROFILE_PYSPY=1 needs py-spy: pip install py-spy")
    OUT.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([binary, "record", "--gil", "--format", "raw", "--rate", "200", "--pid", str(pid),
                              "--duration", str(round(seconds)), "-o", str(OUT / f"sidecar-{i}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, pid in enumerate(pids)]


def _report(requests: int, before: dict, after: dict, counts: dict[str, int]) -> None:
    print(f"{requests} requests; ext_proc per request: "
          + ", ".join(f"{name} {n / requests:.2f}" for name, n in sorted(counts.items())))
    rows = sorted(((after[k] - before.get(k, 0), k) for k in after), reverse=True)
    print("CPU ms per request by thread (pid, thread id, name):")
    for ms, (pid, tid, name) in rows:
        if ms > 0:
            print(f"  {ms / requests:7.3f}  {pid} {tid} {name}")


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", 20))
    connections = int(os.environ.get("PROFILE_CONNECTIONS", 8))
    wrk.ensure_wrk()
    workdir = OUT / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "gateway").mkdir(parents=True)
    with ExitStack() as stack:
        upstream = Envoy("upstream", workdir, upstream_config).start()
        stack.callback(upstream.stop)
        backend = stack.enter_context(bench_gateway.bench_backend())
        gateway = bench_gateway.start(backend, workdir / "gateway", upstream.url)
        stack.callback(gateway.stop)
        scenario = Scenario("c", "gateway, JSON", gateway.url, False, {}, asyncio.run(bench_gateway.api_key(gateway)))
        scenario.check()
        script = wrk.write_script(workdir / "c.lua", request_body(False), scenario.headers())
        wrk.run(scenario.url, script, connections, 2)  # warm-up
        procs = gateway_processes(gateway.process.pid)
        pids = procs["sidecar"] + procs["envoy"]
        admin = gateway.env["CLEW_ADMIN_PORT"]
        stats, cpu = _stats(admin), {k: v for pid in pids for k, v in thread_cpu_ms(pid).items()}
        spies = _py_spy(procs["sidecar"], seconds) if os.environ.get("PROFILE_PYSPY") == "1" else []
        result = wrk.run(scenario.url, script, connections, seconds)
        for spy in spies:
            spy.wait()
        after_stats, after_cpu = _stats(admin), {k: v for pid in pids for k, v in thread_cpu_ms(pid).items()}
    served = max(result.requests, 1)
    print(f"{result.rps:.0f} req/s at {connections} connections, load average {os.getloadavg()[0]:.2f}")
    _report(served, cpu, after_cpu, {k: after_stats[k] - stats.get(k, 0) for k in after_stats})
    if spies:
        lines = [line for path in sorted(OUT.glob("sidecar-*.txt")) for line in path.read_text().splitlines()]
        total, inclusive, own = hottest(lines)
        print(f"py-spy: {total} samples with the GIL held, both sidecars (raw profiles in {OUT.relative_to(ROOT)})")
        print("\n".join(_percent_lines("inclusive:", inclusive, max(total, 1))))
        print("\n".join(_percent_lines("self:", own, max(total, 1))))


if __name__ == "__main__":
    main()
