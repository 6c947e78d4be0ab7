"""py-spy helpers: record a running process and list its hottest functions as text.

    .venv/bin/python -m bench.pyspy PROFILE.txt [--top 15]   # summarize an existing raw (collapsed) profile

`record_and_summarize(pid, seconds, prefix)` writes PREFIX.txt (py-spy's raw collapsed stacks) and
PREFIX.svg (a flame graph), and prints the top functions by self and by cumulative samples.
py-spy comes from `.venv/bin/pip install py-spy` (requirements-dev.txt); it needs ptrace rights on
the process (same user, and `kernel.yama.ptrace_scope` 0, or root).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str:
    exe = Path(sys.executable).with_name("py-spy")
    found = str(exe) if exe.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def record_and_summarize(pid: int, seconds: int, prefix: str, top: int = 15) -> None:
    raw, svg = f"{prefix}.txt", f"{prefix}.svg"
    base = [py_spy(), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200", "--nonblocking"]
    print(f"py-spy: recording pid {pid} for {seconds} s -> {raw} and {svg}", flush=True)
    flame = subprocess.Popen([*base, "--output", svg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run([*base, "--format", "raw", "--output", raw], check=True, capture_output=True)
        flame.wait(timeout=seconds + 60)
    finally:
        if flame.poll() is None:
            flame.kill()
    summarize(Path(raw), top)


def _name(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`: one entry per function, not per line."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{func} ({'/'.join(parts[-2:])})"


def summarize(raw: Path, top: int = 15) -> None:
    self_counts: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";") if f]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if not frames:
            continue
        total += n
        self_counts[frames[-1]] += n
        for name in set(frames):
            cumulative[name] += n
    print(f"py-spy: {total} samples")
    print(f"top {top} by self time:")
    for name, n in self_counts.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"top {top} by cumulative time (excluding the event loop's own frames):")
    skip = ("run_forever", "_run_once", "_run (asyncio/events.py)", "run_app", "run_until_complete", "<module>")
    shown = 0
    for name, n in cumulative.most_common():
        if any(s in name for s in skip) or name.startswith(("serve (run.py)", "main (run.py)")):
            continue
        print(f"  {100 * n / total:5.1f}%  {name}")
        shown += 1
        if shown >= top:
            break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", type=Path, help="a py-spy --format raw file")
    parser.add_argument("--top", type=int, default=15)
    a = parser.parse_args()
    summarize(a.raw, a.top)
