"""Who used the CPU while a phase was measured: the node, the load generator, or something
else on the machine (other processes, or the hypervisor's steal). A figure measured while
other work competed for the cores says so next to it. Linux /proc only.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu() -> float:
    """CPU seconds of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _system() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


def machine_cpu() -> float:
    """CPU seconds the whole machine has used since boot, all cores, steal included."""
    busy, steal = _system()
    return busy + steal


def load_average() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class PhaseCpu:
    wall: float
    node: float
    load_generator: float
    others: float
    steal: float

    @property
    def others_share(self) -> float:
        """The share of the whole machine that other processes used during the phase."""
        return self.others / (self.wall * (os.cpu_count() or 1))

    def row(self, label: str) -> tuple[str, ...]:
        return (label, f"{self.wall:.1f} s", f"{self.node:.1f} s", f"{self.load_generator:.1f} s",
                f"{self.others:.1f} s", f"{self.steal:.1f} s",
                f"{self.others_share:.0%}")


HEADERS = ("Phase", "Wall", "Node CPU", "Load generator CPU", "Other processes CPU",
           "Steal", "Others' share of the machine")


class CpuWatch:
    """Measure a phase in which the node (pid `node_pid`) serves a load generator run as a
    child of this process: ``with CpuWatch(pid) as w: ...`` then ``w.result``."""

    def __init__(self, node_pid: int) -> None:
        self.pid = node_pid

    def __enter__(self) -> CpuWatch:
        self._t = time.monotonic()
        self._node = process_cpu(self.pid)
        self._children = children_cpu()
        self._self = time.process_time()
        self._busy, self._steal = _system()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, steal = _system()
        node = process_cpu(self.pid) - self._node
        gen = children_cpu() - self._children
        own = time.process_time() - self._self
        total = busy - self._busy
        self.result = PhaseCpu(wall=time.monotonic() - self._t, node=node, load_generator=gen,
                               others=max(0.0, total - node - gen - own),
                               steal=steal - self._steal)


def busy_fraction(seconds: float) -> float:
    """How busy the whole machine was over the next `seconds` (0..1, steal included)."""
    busy0, steal0 = _system()
    time.sleep(seconds)
    busy1, steal1 = _system()
    return (busy1 - busy0 + steal1 - steal0) / (seconds * (os.cpu_count() or 1))
