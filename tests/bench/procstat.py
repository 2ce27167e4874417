"""CPU time and memory of processes, read from /proc (Linux only)."""
import os
import time
from collections.abc import Callable
from pathlib import Path

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """User + system CPU time the process has used so far, in milliseconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 (state), after "pid (comm)"
    return (int(fields[11]) + int(fields[12])) * TICK_MS  # utime (14) + stime (15)


def _cpu_line() -> list[int]:
    # user nice system idle iowait irq softirq steal ...; steal (time the hypervisor gave to other
    # machines) is not ours, so it never counts as busy.
    return [int(x) for x in Path("/proc/stat").read_text().split()[1:8]]


def machine_busy_ms() -> float:
    """CPU time every core has spent busy so far (all processes, wrk included), in milliseconds."""
    user, nice, system, _idle, _iowait, irq, softirq = _cpu_line()
    return (user + nice + system + irq + softirq) * TICK_MS


def interrupts_ms() -> float:
    """CPU time spent in interrupts and softirqs (loopback networking among them), in milliseconds."""
    *_, irq, softirq = _cpu_line()
    return (irq + softirq) * TICK_MS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """Direct children, from every thread's `children` list, or by scanning /proc when that is missing."""
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.update(int(c) for c in (task / "children").read_text().split())
        return sorted(found)
    except OSError:
        pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.add(int(entry.name))
    return sorted(found)


def gateway_processes(clew_up_pid: int) -> dict[str, list[int]]:
    """The children of `clew up` by role: sidecars, Envoy and the control plane."""
    roles: dict[str, list[int]] = {"sidecar": [], "envoy": [], "control_plane": []}
    for pid in children(clew_up_pid):
        command = cmdline(pid)
        if "-m plugins --index" in command:
            roles["sidecar"].append(pid)
        elif "--disable-hot-restart" in command:
            roles["envoy"].append(pid)
        elif "-m control_plane" in command:
            roles["control_plane"].append(pid)
    return roles


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (e.g. redis-server, postgres)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _all_cpu() -> dict[int, float]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = cpu_ms(int(entry.name))
            except (OSError, ValueError):
                continue  # exited meanwhile
    return found


class CpuMeter:
    """CPU milliseconds used between two points by groups of processes, by every other process
    ("other_procs"), by interrupts ("interrupts") and by the whole machine ("machine").

    A group is a list of pids, or a function finding them (asked again at the end, so a process
    started meanwhile counts from zero). A process that exited meanwhile is lost from its group.
    """

    def __init__(self, groups: dict[str, list[int] | Callable[[], list[int]]]):
        self.groups = groups
        self._start: dict[int, float] = {}
        self._machine = self._interrupts = 0.0

    def start(self) -> None:
        self._start, self._machine, self._interrupts = _all_cpu(), machine_busy_ms(), interrupts_ms()

    def stop(self) -> dict[str, float]:
        end, machine, interrupts = _all_cpu(), machine_busy_ms(), interrupts_ms()
        used = {pid: ms - self._start.get(pid, 0.0) for pid, ms in end.items()}
        result, counted = {}, {os.getpid()}  # the bench itself only waits for wrk
        for name, pids in self.groups.items():
            members = set(pids() if callable(pids) else pids) - counted
            result[name] = sum(used.get(pid, 0.0) for pid in members)
            counted |= members
        result["other_procs"] = sum(ms for pid, ms in used.items() if pid not in counted)
        result["interrupts"] = interrupts - self._interrupts
        result["machine"] = machine - self._machine
        return result


def machine_busy_share(seconds: float = 2.0) -> float:
    """How busy the whole machine is, 0..1 of all its CPUs, over `seconds`."""
    before = machine_busy_ms()
    time.sleep(seconds)
    return (machine_busy_ms() - before) / (seconds * 1000 * (os.cpu_count() or 1))
