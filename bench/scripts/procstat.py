"""CPU and memory of process trees, read from /proc, for bench/compare.sh.

A Sampler thread records, every `interval` seconds, the cumulative CPU time (user + system,
all threads) and the memory of named groups of processes, each group being some root PIDs
and all their descendants (nginx's workers, Pushpin's services). Memory is VmRSS and Pss
summed over the group; Pss counts a page shared by n processes as 1/n, so shared memory
(nginx's) is not counted twice. Windows of the series are then read back by wall-clock
time, to match a load generator's publish window.

Run as a script to print one sample: procstat.py PID [PID...]
"""

import bisect
import os
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children_map():
    """parent PID -> child PIDs, for every process visible in /proc."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; fields follow the last ')'.
        fields = stat[stat.rindex(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def tree(roots, kids=None):
    """The roots and all their descendants that still exist."""
    kids = children_map() if kids is None else kids
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in out or not os.path.exists(f"/proc/{pid}"):
            continue
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def memory_kib(pid):
    """(VmRSS, Pss) in KiB."""
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                    break
    except OSError:
        pss = rss
    return rss, pss


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def snapshot(pids):
    """(cpu_s, rss_kib, pss_kib) summed over `pids`; vanished processes count nothing."""
    cpu = rss = pss = 0
    for pid in pids:
        try:
            cpu += cpu_seconds(pid)
            r, p = memory_kib(pid)
            rss += r
            pss += p
        except (OSError, ValueError):
            pass
    return cpu, rss, pss


class Series:
    """Samples of one group: parallel lists of wall time, cumulative CPU and memory."""

    def __init__(self):
        self.t, self.cpu, self.rss, self.pss = [], [], [], []

    def add(self, t, cpu, rss, pss):
        self.t.append(t)
        self.cpu.append(cpu)
        self.rss.append(rss)
        self.pss.append(pss)

    def cpu_at(self, t):
        """Cumulative CPU at wall time t, interpolated between samples."""
        if not self.t:
            return 0.0
        i = bisect.bisect_left(self.t, t)
        if i == 0:
            return self.cpu[0]
        if i >= len(self.t):
            return self.cpu[-1]
        t0, t1 = self.t[i - 1], self.t[i]
        c0, c1 = self.cpu[i - 1], self.cpu[i]
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1

    def cpu_between(self, t0, t1):
        return max(0.0, self.cpu_at(t1) - self.cpu_at(t0))

    def peak(self, field, t0=None, t1=None):
        values = [v for t, v in zip(self.t, getattr(self, field))
                  if (t0 is None or t >= t0) and (t1 is None or t <= t1)]
        return max(values) if values else 0

    def last_before(self, field, t):
        i = bisect.bisect_right(self.t, t) - 1
        return getattr(self, field)[i] if i >= 0 else 0


class Sampler(threading.Thread):
    """Samples named groups {name: [root PIDs]} every `interval` seconds until stop()."""

    def __init__(self, groups, interval=0.1):
        super().__init__(daemon=True)
        self.groups = {name: list(roots) for name, roots in groups.items()}
        self.series = {name: Series() for name in self.groups}
        self.interval = interval
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._members = {}
        self._last_tree = 0.0

    def add_root(self, name, pid):
        with self._lock:
            self.groups.setdefault(name, []).append(pid)
            self.series.setdefault(name, Series())
            self._last_tree = 0.0  # pick the new tree up at the next sample

    def sample_once(self):
        now = time.time()
        with self._lock:
            if now - self._last_tree > 1.0 or not self._members:
                # Re-reading the whole process table is the expensive part: once a second.
                kids = children_map()
                self._members = {n: tree(r, kids) for n, r in self.groups.items()}
                self._last_tree = now
            for name, roots in self.groups.items():
                members = self._members.get(name) or list(roots)
                cpu, rss, pss = snapshot(members)
                self.series[name].add(now, cpu, rss, pss)

    def run(self):
        while not self._halt.is_set():
            self.sample_once()
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        self.sample_once()


if __name__ == "__main__":
    pids = tree([int(p) for p in sys.argv[1:]])
    cpu, rss, pss = snapshot(pids)
    print(f"pids {pids}: cpu {cpu:.2f}s rss {rss} KiB pss {pss} KiB")
