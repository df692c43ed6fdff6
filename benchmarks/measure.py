"""Run a command as its own process and measure it: wall time, and the peak RSS of its
whole process tree (the process plus every process it starts, such as a worker pool).

The RSS of each process is added up, as the issue's targets count memory: pages that
forked workers share with their parent count once per process, so the sum can exceed what
the machine really spends.

Linux only: the tree is read from /proc. Not every kernel lists a process's children there
(`/proc/<pid>/task/<tid>/children` needs CONFIG_PROC_CHILDREN), so each sample lists /proc
and follows parent ids, reading each new process's parent once.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Run:
    """What one command did."""

    seconds: float
    peak_rss: int  # bytes: the most that the tree's processes held at once
    returncode: int
    output: str  # stdout and stderr, interleaved


def run(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run `command` to its end, sampling its process tree's RSS every 20 ms.

    The peak is the largest sum over a sample's processes, so a peak shorter than a sample
    can be missed. (The kernel's own maximum RSS of a child is no help: it starts from the
    benchmark's own size, which the child had before it became the command.)
    """
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        sampler = _Sampler(process.pid)
        sampler.start()
        returncode = process.wait()
        seconds = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace")
    return Run(seconds, sampler.peak, returncode, text)


class _Sampler(threading.Thread):
    """Sums the RSS of a process and its descendants until told to stop; keeps the peak."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.stop = threading.Event()
        self._parents: dict[int, int] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            self.stop.wait(SAMPLE_SECONDS)

    def _tree_rss(self) -> int:
        children = defaultdict(list)
        for name in os.listdir("/proc"):
            if name.isdigit():
                pid = int(name)
                if pid not in self._parents:
                    self._parents[pid] = _parent(pid)
                children[self._parents[pid]].append(pid)
        total, stack = 0, [self.root]
        while stack:
            pid = stack.pop()
            total += _rss(pid)
            stack += children[pid]
        return total


def _parent(pid: int) -> int:
    """The parent's pid, from /proc/<pid>/stat (0 once the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0
    return int(stat.rsplit(b")", 1)[1].split()[1])  # the name before ")" may hold spaces


def _rss(pid: int) -> int:
    """Resident bytes, from /proc/<pid>/statm (0 once the process is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_bytes().split()[1]) * PAGE_BYTES
    except (OSError, IndexError):
        return 0
