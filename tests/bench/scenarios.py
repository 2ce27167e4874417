"""One scenario: a target, a request, the processes whose CPU counts, and a check before timing it."""
import json
import resource
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import wrk
from tests.bench.procstat import CpuMeter, pids_named, rss_mb
from tests.bench.upstream import CONTENT_CHUNKS, MODEL, STREAM_HEADER

PATH = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Hello!"}]
CONNECTIONS = (32, 1)


def request_body(stream: bool) -> str:
    body = {"model": MODEL, "messages": MESSAGES, **({"stream": True} if stream else {})}
    return json.dumps(body, separators=(",", ":"))


def _children_cpu_ms() -> float:
    """CPU time of our finished children: wrk runs to completion inside the measured window."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


@dataclass
class Scenario:
    key: str  # a_json, a_stream, b_json, b_stream, c, d
    label: str
    base_url: str
    stream: bool
    cpu_groups: dict[str, list[int]]  # role -> pids whose CPU is counted
    api_key: str | None = None  # the gateway's scenarios authenticate
    rss_pids: list[int] = field(default_factory=list)  # sidecars, for their memory after the run

    @property
    def url(self) -> str:
        return self.base_url + PATH

    @property
    def gateway(self) -> bool:
        return self.api_key is not None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.stream:
            headers[STREAM_HEADER] = "1"
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        return headers

    def check(self) -> None:
        """One request answered the way the bench expects, or RuntimeError: timing failures is pointless."""
        request = urllib.request.Request(self.url, data=request_body(self.stream).encode(), headers=self.headers(),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, body = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{self.label}: HTTP {error.code}: {error.read()[:500]!r}") from None
        problems = self._problems(status, headers, body)
        if problems:
            raise RuntimeError(f"{self.label}: unexpected answer ({'; '.join(problems)}):\n{headers}\n{body[:1000]}")

    def _problems(self, status: int, headers, body: str) -> list[str]:
        problems = [] if status == 200 else [f"status {status}"]
        if not self.stream:
            try:
                if "usage" not in json.loads(body):
                    problems.append("no usage")
            except ValueError:
                problems.append("not JSON")
            if self.gateway and "x-cost-usd" not in headers:
                problems.append("no X-Cost-USD header")
            return problems
        if body.count('"content":"word') != CONTENT_CHUNKS or not body.endswith("data: [DONE]\n\n"):
            problems.append(f"not a {CONTENT_CHUNKS}-chunk stream ending in [DONE]")
        if self.gateway and ": x-cost-usd=" not in body:
            problems.append("no cost comment in the stream")
        return problems

    def measure(self, workdir: Path, connections: int, seconds: float, warmup: float) -> dict:
        script = wrk.write_script(workdir / f"{self.key}.lua", request_body(self.stream), self.headers())
        if warmup > 0:
            wrk.run(self.url, script, connections, warmup)
        meter = CpuMeter({"redis_pg": lambda: pids_named("redis-server", "postgres"), **self.cpu_groups})
        meter.start()
        wrk_before = _children_cpu_ms()
        result = wrk.run(self.url, script, connections, seconds)
        cpu = meter.stop()
        cpu["wrk"] = _children_cpu_ms() - wrk_before  # exited by now, so not among other_procs
        time.sleep(0.2)  # let the last cancelled requests settle before the next run
        served = max(result.requests, 1)
        return {"scenario": self.key, "label": self.label, **result.as_dict(),
                "cpu_ms": cpu, "cpu_ms_per_request": {role: ms / served for role, ms in cpu.items()},
                "sidecar_rss_mb": sum(rss_mb(pid) for pid in self.rss_pids) if self.rss_pids else None,
                "sidecar_rss_mb_each": [rss_mb(pid) for pid in self.rss_pids]}
