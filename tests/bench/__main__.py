"""python -m tests.bench: measure the gateway against its baselines in one run and print ratios.

  (a) the fixed-response upstream directly   (b) bare Envoy in front of it
  (c) the full gateway, JSON                  (d) the full gateway, a 20-chunk stream
each at 32 connections and at 1, after a warm-up. BENCH_SECONDS (default 10) sets the measured
length of each run, BENCH_WARMUP (default 2) the warm-up. Results go to var/bench/latest.json;
logs and configs of the last run stay in var/bench/last-run/.
"""
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from control_plane.supervisor import envoy_binary
from tests.bench import gateway as bench_gateway
from tests.bench import report, wrk
from tests.bench.procstat import gateway_processes, machine_busy_share
from tests.bench.scenarios import CONNECTIONS, Scenario
from tests.bench.upstream import CONTENT_CHUNKS, Envoy, bare_proxy_config, upstream_config
from tests.support.stack import ROOT

OUT = ROOT / "var" / "bench"
BUSY_WARNING = 0.10


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {os.environ[name]!r}") from None


def _require_services() -> None:
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            raise SystemExit(f"make bench needs {name} on 127.0.0.1:{port}") from None


def _on_sigterm(_signum, _frame):
    raise KeyboardInterrupt  # unwinds through every cleanup, like Ctrl-C


def _scenarios(upstream: Envoy, bare: Envoy, gateway, key: str) -> list[Scenario]:
    procs = gateway_processes(gateway.process.pid)
    if not procs["sidecar"] or len(procs["envoy"]) != 1:
        raise RuntimeError(f"could not find the gateway's sidecars and Envoy among the children of clew up: {procs}")
    # Every process of ours is in "idle" too: the meter counts each process in its first group only,
    # so "idle" holds what the scenario does not exercise, and "others" only what is not ours.
    idle = {"idle": [upstream.pid, bare.pid, gateway.process.pid, *(pid for pids in procs.values() for pid in pids)]}
    up = {"upstream": [upstream.pid]}
    proxy = {"envoy": [bare.pid], **up, **idle}
    full = {"envoy": procs["envoy"], "sidecar": procs["sidecar"], "control_plane": procs["control_plane"], **up,
            **idle}
    up |= idle
    return [
        Scenario("a_json", "(a) upstream direct, JSON", upstream.url, False, up),
        Scenario("a_stream", "(a) upstream direct, stream", upstream.url, True, up),
        Scenario("b_json", "(b) bare Envoy, JSON", bare.url, False, proxy),
        Scenario("b_stream", "(b) bare Envoy, stream", bare.url, True, proxy),
        Scenario("c", "(c) gateway, JSON", gateway.url, False, full, key, procs["sidecar"]),
        Scenario("d", f"(d) gateway, {CONTENT_CHUNKS}-chunk stream", gateway.url, True, full, key, procs["sidecar"]),
    ]


def _version(command: list[str], pattern: str) -> str:
    output = subprocess.run(command, capture_output=True, text=True)
    found = re.search(pattern, output.stdout + output.stderr)
    return found.group(1) if found else "?"


def _environment(seconds: float, warmup: float, gateway) -> dict:
    return {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
            "envoy": _version([envoy_binary(), "--version"], r"/(\d+\.\d+\.\d+)/"),
            "wrk": _version(["wrk", "-v"], r"wrk \S*?(\d+\.\d+\.\d+)"),
            "seconds": seconds, "warmup_seconds": warmup, "sidecar_processes": gateway.sidecar_processes,
            "connections": list(CONNECTIONS)}


def _print(lines: list[str] | str = "") -> None:
    print("\n".join(lines) if isinstance(lines, list) else lines, flush=True)


def _background(when: str) -> dict:
    """How busy the box is without our load: other work here skews every number."""
    busy = machine_busy_share(2.0)
    load = os.getloadavg()
    _print(f"{when} the bench the machine is {busy:.0%} busy (load average {load[0]:.2f})")
    if busy > BUSY_WARNING:
        _print(f"!! {busy:.0%} of the CPUs are busy with other work: the numbers are skewed by it")
    return {f"busy_share_{when}": busy, f"loadavg_{when}": load[0]}


def _run(seconds: float, warmup: float) -> int:
    background = _background("before")
    workdir = OUT / "last-run"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "gateway").mkdir(parents=True)
    with ExitStack() as stack:
        upstream = Envoy("upstream", workdir, upstream_config).start()
        stack.callback(upstream.stop)
        bare = Envoy("bare-envoy", workdir, lambda port, admin: bare_proxy_config(port, admin, upstream.port)).start()
        stack.callback(bare.stop)
        backend = stack.enter_context(bench_gateway.bench_backend())
        _print(f"starting the gateway (clew up, PostgreSQL schema {backend.schema}, "
               f"Redis prefix {backend.redis_prefix})")
        gateway = bench_gateway.start(backend, workdir / "gateway", upstream.url)
        stack.callback(gateway.stop)
        try:
            key = asyncio.run(bench_gateway.api_key(gateway))
            scenarios = _scenarios(upstream, bare, gateway, key)
            for scenario in scenarios:
                scenario.check()
        except BaseException:
            _print(f"--- last lines of {gateway.log_path} ---\n" + "\n".join(gateway.log().splitlines()[-40:]))
            raise
        env = {**_environment(seconds, warmup, gateway), **background}
        _print(f"{env['cpus']} CPUs, Envoy {env['envoy']}, wrk {env['wrk']}, Python {env['python']}; "
               f"{env['sidecar_processes']} sidecar processes; {warmup:g} s warm-up + {seconds:g} s measured per run")
        runs = _measure(scenarios, workdir, seconds, warmup)
    env |= _background("after")  # once everything of ours has stopped
    _report(env, runs)
    return 1 if any(r["requests"] == r["errors"] for r in runs) else 0


def _measure(scenarios: list[Scenario], workdir, seconds: float, warmup: float) -> list[dict]:
    runs = []
    for scenario in scenarios:
        for connections in CONNECTIONS:
            run = scenario.measure(workdir, connections, seconds, warmup)
            runs.append(run)
            _print(f"  {scenario.label:<32} c={connections:<3} {run['rps']:9.0f} req/s  "
                   f"p50 {run['p50_ms']:.3f} ms  p99 {run['p99_ms']:.3f} ms  errors {run['errors']}")
    return runs


def _report(env: dict, runs: list[dict]) -> None:
    ratios = report.ratios(runs)
    targets = report.targets(ratios)
    _print()
    _print(report.table(runs))
    _print()
    _print(report.cpu_table(runs))
    _print(["  (Envoy: the proxy under test -- bare Envoy in (b), the gateway's in (c)/(d); redis+pg: every",
            "   redis-server and postgres process on the box, other users' included; irq: interrupts and",
            "   softirqs, loopback networking among them; others: every other process; machine: all busy time)"])
    warnings = report.warnings(runs)
    if warnings:
        _print()
        _print(warnings)
    _print()
    _print(report.ratio_lines(ratios))
    _print()
    _print("targets (ARCHITECTURE.md §6; informative, the bench does not fail on them):")
    _print(report.target_lines(targets))
    _print()
    _print([
        "notes: the upstream is an Envoy direct_response, so a stream's 20 chunks reach the proxy in one or two",
        "  reads (chunked), not as 20 separate writes: (d) is a lower bound for a real stream's cost.",
        "  CPU ms/request = (utime + stime) over the measured run / completed requests. wrk, the upstream,",
        "  the proxy, Redis and PostgreSQL share the same CPUs: req/s is what this whole box manages.",
    ])
    path = OUT / "latest.json"
    report.write_json(path, {"environment": env, "runs": runs, "ratios": ratios, "targets": targets})
    _print(f"written: {path.relative_to(ROOT)}")


def main() -> None:
    seconds, warmup = _seconds("BENCH_SECONDS", 10), _seconds("BENCH_WARMUP", 2)
    wrk.ensure_wrk()
    _require_services()
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`&`)
    started = time.monotonic()
    try:
        status = _run(seconds, warmup)
    except KeyboardInterrupt:
        print("interrupted: everything the bench started is stopped and its data removed", file=sys.stderr)
        raise SystemExit(130) from None
    except RuntimeError as exc:
        print(f"bench could not run: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    _print(f"bench took {time.monotonic() - started:.0f} s")
    raise SystemExit(status)


if __name__ == "__main__":
    main()
