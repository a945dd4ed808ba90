"""Child processes of the harness: the ``inkl`` command line and measured Python children.

``run_measured`` runs a command to its end and reports its wall time and its own peak
resident set size: the high-water mark ``VmHWM`` of the child's memory, read from
``/proc/<pid>/status`` every ``HWM_POLL_SECONDS`` while it runs. Not ``ru_maxrss``: Linux
carries a process's maximum across ``exec``, so a child forked from the harness reports
at least the harness's own size at the fork (the harness's SQLite reads map the database
file, whose pages count as resident), not its own. Growth in the last poll interval before
the child exits is not seen; where ``/proc`` is missing, ``ru_maxrss`` is reported.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

#: The worktree: children run here, so ``python -m inkl`` imports this checkout's packages.
REPO = Path(__file__).resolve().parent.parent
#: How often a child's stderr lines are passed on to ours, at most (seconds).
PROGRESS_INTERVAL = 5.0
#: Seconds between two readings of a measured child's memory high-water mark.
HWM_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Completed:
    """A finished child: exit code, stdout, the last lines of stderr, wall seconds, peak RSS in MB (MiB)."""

    returncode: int
    stdout: str
    stderr_tail: str
    seconds: float
    peak_rss_mb: float


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """Our environment plus the database for ``inkl`` (``INKL_DATABASE_URL``) and the acting user."""
    return {**os.environ, "INKL_DATABASE_URL": database_url, "INKL_USER": "bench", **extra}


def inkl(*args: str) -> list[str]:
    """The command line of ``python -m inkl ARGS`` with this interpreter."""
    return [sys.executable, "-m", "inkl", *args]


def run_measured(cmd: list[str], *, env: dict[str, str], stdin_text: str | None = None,
                 label: str = "") -> Completed:
    """Run ``cmd`` in the worktree to its end; its stderr goes on to ours (``label``-prefixed,
    at most one line per ``PROGRESS_INTERVAL`` seconds, the last lines kept for errors)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    out: list[str] = []
    tail: deque[str] = deque(maxlen=20)
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),
               threading.Thread(target=_forward, args=(proc.stderr, tail, label), daemon=True)]
    for reader in readers:
        reader.start()
    if stdin_text is not None:
        proc.stdin.write(stdin_text)
        proc.stdin.close()
    high_water_kib = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        high_water_kib = max(high_water_kib, _high_water_kib(proc.pid))
        time.sleep(HWM_POLL_SECONDS)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    for reader in readers:
        reader.join()
    return Completed(proc.returncode, "".join(out), "\n".join(tail), seconds,
                     (high_water_kib or usage.ru_maxrss) / 1024)


def _high_water_kib(pid: int) -> int:
    """``VmHWM`` of process ``pid`` in KiB, 0 if it cannot be read (no /proc, or already exited)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _forward(stream, tail: deque[str], label: str) -> None:
    last = 0.0
    for line in stream:
        line = line.rstrip("\n")
        tail.append(line)
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL:
            print(f"  {label}{line}", file=sys.stderr, flush=True)
            last = now
