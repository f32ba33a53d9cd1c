#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cpu_split.py - where a bench run's CPU time went, for test/bench.sh

Usage: cpu_split.py DELAY SECONDS DAEMON-PID [PUMP-PID]

Waits DELAY seconds, then counts CPU time (user and system, from
/proc/PID/task/*/stat and /proc/stat) over SECONDS, and prints one line:

    DAEMON BUSIEST-PUMP-THREAD MACHINE

each in per cent of one CPU: the daemon's threads together, the pump's
busiest thread ("-" without a pump), and the whole machine's busy time
(up to 100 times the number of CPUs). From these, bench.sh works out how
far any daemon could take the run if it cost nothing: the rest of the
work would then have the machine to itself, and the pump's busiest thread
(one CPU at most) would have its CPU to itself.
"""

import os
import sys
import time


def task_ticks(pid):
    """CPU clock ticks of each thread of PID: {tid: ticks}"""
    ticks = {}
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return ticks
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # utime and stime: fields 14 and 15, counted after the name's ")"
        fields = stat[stat.rindex(')') + 2:].split()
        ticks[tid] = int(fields[11]) + int(fields[12])
    return ticks


def machine_ticks():
    """(busy, total) clock ticks of all CPUs since boot"""
    with open('/proc/stat') as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]          # idle, iowait
    return sum(cpu) - idle, sum(cpu)


def main():
    """Print the split; every figure "-" if the daemon went away"""
    delay, secs = float(sys.argv[1]), float(sys.argv[2])
    daemon = sys.argv[3]
    pump = sys.argv[4] if len(sys.argv) > 4 else None
    hz = os.sysconf('SC_CLK_TCK')

    time.sleep(delay)
    d0, p0, m0 = task_ticks(daemon), task_ticks(pump) if pump else {}, \
        machine_ticks()
    t0 = time.monotonic()
    time.sleep(secs)
    d1, p1, m1 = task_ticks(daemon), task_ticks(pump) if pump else {}, \
        machine_ticks()
    wall = time.monotonic() - t0
    if not d1:
        print('- - -')
        return

    def share(ticks):
        return '%.0f' % (100.0 * ticks / hz / wall)

    dcpu = sum(v - d0.get(k, v) for k, v in d1.items())
    pmax = max((v - p0.get(k, v) for k, v in p1.items()), default=None)
    ncpu = os.cpu_count() or 1
    # /proc/stat's ticks are all CPUs' together: as per cent of one CPU
    busy = 100.0 * ncpu * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1)
    print(share(dcpu), '-' if pmax is None else share(pmax), '%.0f' % busy)


if __name__ == '__main__':
    main()
