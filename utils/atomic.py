"""Atomic file writes: write a sibling temporary file, then rename it over the target.

A run killed at any moment (SLURM preemption, Ctrl-C) leaves either the old file or the new one,
never half of one, so `last.ckpt`, metric files and images can always be read back. The file gets the
permissions the user's umask gives a new file (a lab's shared run folders stay readable to the group),
not the owner-only mode of the temporary file it was written as.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (threads may be creating
    files meanwhile); elsewhere set and restored at once."""
    status = Path("/proc/self/status")
    if status.is_file():
        found = re.search(r"^Umask:\s*([0-7]+)$", status.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1), 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates files as 0600
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
