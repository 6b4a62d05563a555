"""A disk that fills up, for write-fault tests, in this process.

As root (which can mount): a real tmpfs at the folder, and `fill(leave)` shrinks it to what is
used plus `leave` bytes, so the next larger write fails with ENOSPC. Otherwise (or where the
mount is refused): `fill(leave)` sets the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored), so
the same writes fail with EFBIG. Either way the fault is real, never a skip; `reason` is the
words it fails with.
"""
import contextlib
import errno
import os
import resource
import signal
import subprocess

MOUNT_SIZE = 16 << 20  # room for what a test writes before fill()


class SmallDisk:
    """The folder (`path`), how it fails (`kind`: 'tmpfs' or 'rlimit') and with what words."""

    def __init__(self, path, kind):
        self.path, self.kind = path, kind
        self.reason = os.strerror(errno.ENOSPC if kind == "tmpfs" else errno.EFBIG)

    def fill(self, leave):
        """From now on a write of more than `leave` bytes does not fit."""
        if self.kind == "tmpfs":
            stats = os.statvfs(self.path)
            used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
            if not _run("mount", "-o", f"remount,size={used + leave}", self.path):
                raise RuntimeError(f"{self.path}: could not shrink the tmpfs")
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (leave, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _run(*command):
    return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 0


@contextlib.contextmanager
def small_disk(path):
    """Yields a SmallDisk at `path` (created); unmounted / limit lifted afterwards."""
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0 and _run("mount", "-t", "tmpfs", "-o", f"size={MOUNT_SIZE}", "tmpfs", path):
        try:
            yield SmallDisk(path, "tmpfs")
        finally:
            if not _run("umount", path):
                _run("umount", "-l", path)  # still busy: detach it
        return
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    try:
        yield SmallDisk(path, "rlimit")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
