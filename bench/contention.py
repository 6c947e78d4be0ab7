"""Other work on the machine, on demand: a benchmark's `--contend` starts these beside the servers
so that "how does each server fare on a loaded machine" is measured in one run instead of waited
for (a shared machine's neighbours come and go; see the README's Figures).

    cpu     one process spinning in pure Python (one core taken)
    memory  one process copying 192 MB back and forth (one core, and the shared caches and memory
            bandwidth thrashed)
    disk    one process writing 64 KB and fsyncing, over and over (a busy disk for every fsync)

Each is a child in its own process group (bench.common.Children), ended with the run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from bench.common import Children

_PROGRAMS = {
    "cpu": "while True: pass",
    "memory": "a = bytearray(192 << 20); b = bytearray(192 << 20)\nwhile True: a[:] = b",
    "disk": (
        "import os, sys\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); block = os.urandom(64 << 10)\n"
        "while True:\n"
        "    os.write(fd, block); os.fsync(fd)\n"
        "    if os.lseek(fd, 0, os.SEEK_CUR) >= 256 << 20: os.lseek(fd, 0, os.SEEK_SET)"
    ),
}
KINDS = tuple(_PROGRAMS)


def parse(text: str | None) -> list[str]:
    """`cpu,disk` → ["cpu", "disk"]; ValueError naming what is unknown."""
    kinds = [k.strip() for k in (text or "").split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown contention {', '.join(unknown)} (known: {', '.join(KINDS)})")
    return kinds


def start(children: Children, kinds: Iterable[str], scratch: Path) -> None:
    """One process per kind, running until `children` closes."""
    for kind in kinds:
        children.spawn([sys.executable, "-c", _PROGRAMS[kind], str(scratch / f"contention-{kind}.dat")])
