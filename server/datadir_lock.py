"""One owner per DATA_DIR: the embedded document store lives inside one process, so a second
process opening the same directory would replay the same journal and then diverge from the first,
each acknowledging writes the other never sees.

The lock is `fcntl.flock` on a file in DATA_DIR. The kernel drops it when its holder exits, however
it exits (kill -9 included), so a stale lock never blocks a restart; the pid written into the file
only makes the refusal say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "embedded-store.lock"


class DataDirInUse(RuntimeError):
    """Another process's embedded store owns DATA_DIR."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"DATA_DIR {self.path.parent.resolve()} is in use by another process (pid {holder}) "
                "whose embedded document store owns it. Stop that process, or give this one another "
                "DATA_DIR, or set MONGODB_URL (and REDIS_URL) so that several processes share one "
                "MongoDB."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
