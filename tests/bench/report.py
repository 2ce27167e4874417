"""The results as a table, the ratios against bare Envoy, and the ARCHITECTURE.md §6 targets.

Targets are informative: a missed one is reported, never a failure.
"""
import json
from pathlib import Path

ERROR_RATE_FLAG = 0.01
CPU_COLUMNS = (("envoy", "Envoy"), ("sidecar", "sidecars"), ("control_plane", "ctl plane"),
               ("upstream", "upstream"), ("wrk", "wrk"), ("redis_pg", "redis+pg"), ("interrupts", "irq"),
               ("other_procs", "others"), ("machine", "machine"))
FOREIGN_FLAG = 0.10  # of one CPU: other processes this busy during a run make its numbers suspect


def _find(runs: list[dict], scenario: str, connections: int) -> dict:
    return next(r for r in runs if r["scenario"] == scenario and r["connections"] == connections)


def _cpu(run: dict, role: str) -> float | None:
    return run["cpu_ms_per_request"].get(role)


def _gateway_cpu(run: dict) -> float:
    return _cpu(run, "envoy") + _cpu(run, "sidecar")


def _fmt(value, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def table(runs: list[dict]) -> list[str]:
    lines = [f"{'scenario':<32} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"]
    for run in runs:
        flag = "  <-- !! errors" if run["error_rate"] > ERROR_RATE_FLAG else ""
        if run["cpu_ms"]["other_procs"] / (run["seconds"] * 1000) > FOREIGN_FLAG:
            flag += "  <-- !! busy machine"
        lines.append(f"{run['label']:<32} {run['connections']:>5} {run['rps']:>9.0f} {run['p50_ms']:>8.3f} "
                     f"{run['p99_ms']:>8.3f} {run['errors']:>7}{flag}")
    return lines


def cpu_table(runs: list[dict]) -> list[str]:
    heads = "".join(f"{title:>10}" for _, title in CPU_COLUMNS)
    lines = [f"{'CPU ms per request':<32} {'conns':>5}{heads}"]
    for run in runs:
        cells = "".join(f"{_fmt(_cpu(run, role)):>10}" for role, _ in CPU_COLUMNS)
        lines.append(f"{run['label']:<32} {run['connections']:>5}{cells}")
    return lines


def warnings(runs: list[dict]) -> list[str]:
    found = [f"!! {r['label']} at {r['connections']} connection(s): {r['errors']} errors in {r['requests']} "
             f"requests ({r['error_rate']:.1%}) {r['error_detail']} -- its numbers do not measure success"
             for r in runs if r["error_rate"] > ERROR_RATE_FLAG]
    for r in runs:
        foreign = r["cpu_ms"]["other_procs"] / (r["seconds"] * 1000)
        if foreign > FOREIGN_FLAG:
            found.append(f"!! {r['label']} at {r['connections']} connection(s): processes outside the bench used "
                         f"{foreign:.0%} of a CPU meanwhile -- its numbers are skewed")
    return found


def ratios(runs: list[dict]) -> dict:
    out = {}
    for conns in (32, 1):
        b, bs = _find(runs, "b_json", conns), _find(runs, "b_stream", conns)
        c, d = _find(runs, "c", conns), _find(runs, "d", conns)
        a, as_ = _find(runs, "a_json", conns), _find(runs, "a_stream", conns)
        out[f"c{conns}"] = {
            "b_over_a_rps": b["rps"] / a["rps"], "bs_over_as_rps": bs["rps"] / as_["rps"],
            "c_over_b_rps": c["rps"] / b["rps"], "d_over_b_rps": d["rps"] / bs["rps"],
            "c_minus_b_p50_ms": c["p50_ms"] - b["p50_ms"], "d_minus_b_p50_ms": d["p50_ms"] - bs["p50_ms"],
            "c_minus_b_p99_ms": c["p99_ms"] - b["p99_ms"], "d_minus_b_p99_ms": d["p99_ms"] - bs["p99_ms"],
            "bare_envoy_cpu_ms_per_request": _cpu(b, "envoy"),
            "bare_envoy_stream_cpu_ms_per_request": _cpu(bs, "envoy"),
            "c_cpu_ms_per_request": {"sidecar": _cpu(c, "sidecar"), "envoy": _cpu(c, "envoy"),
                                     "control_plane": _cpu(c, "control_plane"), "machine": _cpu(c, "machine")},
            "d_cpu_ms_per_request": {"sidecar": _cpu(d, "sidecar"), "envoy": _cpu(d, "envoy"),
                                     "control_plane": _cpu(d, "control_plane"), "machine": _cpu(d, "machine")},
            "d_over_c_cpu": _gateway_cpu(d) / _gateway_cpu(c),
            "sidecar_rss_mb_after_c": c["sidecar_rss_mb"], "sidecar_rss_mb_after_d": d["sidecar_rss_mb"],
            "sidecar_processes": len(c["sidecar_rss_mb_each"]),
        }
    return out


def ratio_lines(r: dict) -> list[str]:
    lines = []
    for conns in (32, 1):
        x = r[f"c{conns}"]
        c, d = x["c_cpu_ms_per_request"], x["d_cpu_ms_per_request"]
        lines += [
            f"at {conns} connection(s):",
            f"  c/b requests/s (gateway JSON / bare Envoy JSON)        {x['c_over_b_rps']:7.1%}",
            f"  d/b requests/s (gateway stream / bare Envoy stream)    {x['d_over_b_rps']:7.1%}",
            f"  (b/a: bare Envoy / upstream direct  JSON {x['b_over_a_rps']:.1%}, stream {x['bs_over_as_rps']:.1%})",
            f"  added p50 ms   c-b {x['c_minus_b_p50_ms']:+.3f}   d-b {x['d_minus_b_p50_ms']:+.3f}"
            f"     added p99 ms   c-b {x['c_minus_b_p99_ms']:+.3f}   d-b {x['d_minus_b_p99_ms']:+.3f}",
            f"  CPU ms/request  (c) sidecars {c['sidecar']:.3f} + Envoy {c['envoy']:.3f} = "
            f"{c['sidecar'] + c['envoy']:.3f}   (control plane {c['control_plane']:.3f}, machine {c['machine']:.3f})",
            f"                  (d) sidecars {d['sidecar']:.3f} + Envoy {d['envoy']:.3f} = "
            f"{d['sidecar'] + d['envoy']:.3f}   (control plane {d['control_plane']:.3f}, machine {d['machine']:.3f})",
            f"                  bare Envoy: JSON {x['bare_envoy_cpu_ms_per_request']:.3f}, "
            f"stream {x['bare_envoy_stream_cpu_ms_per_request']:.3f};   stream/JSON (d/c) {x['d_over_c_cpu']:.2f}x",
            f"  sidecar RSS ({x['sidecar_processes']} processes together) "
            f"after c {x['sidecar_rss_mb_after_c']:.1f} MB, after d {x['sidecar_rss_mb_after_d']:.1f} MB",
        ]
    return lines


def targets(r: dict) -> list[dict]:
    x32, x1 = r["c32"], r["c1"]
    cpu = x32["c_cpu_ms_per_request"]["sidecar"] + x32["c_cpu_ms_per_request"]["envoy"]
    return [
        {"target": "gateway >= 15% of bare Envoy req/s at 32 conns (c/b)", "limit": 0.15,
         "value": x32["c_over_b_rps"], "met": x32["c_over_b_rps"] >= 0.15, "unit": "%"},
        {"target": "<= 0.35 ms CPU/request, sidecars + Envoy (c, 32 conns)", "limit": 0.35,
         "value": cpu, "met": cpu <= 0.35, "unit": "ms"},
        {"target": "<= 0.7 ms added p50 at 1 conn (c - b)", "limit": 0.7,
         "value": x1["c_minus_b_p50_ms"], "met": x1["c_minus_b_p50_ms"] <= 0.7, "unit": "ms"},
        {"target": "20-chunk stream <= 2x a JSON request's CPU (d/c, 32 conns)", "limit": 2.0,
         "value": x32["d_over_c_cpu"], "met": x32["d_over_c_cpu"] <= 2.0, "unit": "x"},
    ]


def target_lines(rows: list[dict]) -> list[str]:
    def show(value: float, unit: str) -> str:
        return f"{value:.1%}" if unit == "%" else f"{value:.3f} {unit}" if unit == "ms" else f"{value:.2f}x"

    return [f"  {row['target']:<58} measured {show(row['value'], row['unit']):>10}   "
            f"{'met' if row['met'] else 'NOT MET'}" for row in rows]


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
