"""One run per train_dir: an advisory lock file held for the whole run.

`TrainDirLock(train_dir)` takes `fcntl.flock` on `<train_dir>/train.lock` and
writes who holds it (pid, host, start time, command). A second run on the same
train_dir finds the lock taken and refuses with one line naming the holder
(`TrainDirBusyError`). The kernel drops a flock when its process dies, however
it dies (SIGKILL, OOM, power loss of a local disk), so a lock file that can be
locked again was left behind by a dead run: it is taken over, with a note.

Only local (and NFS, where Linux maps flock to POSIX locks) directories are
locked. A train_dir on a tf.io.gfile object store (`gs://`, `s3://`, `ram://`, any
scheme but `file://`) cannot be: gfile has no atomic create-if-absent, so two runs
would both "take" a lock file there. Such a train_dir is refused in one line
(`TrainDirUnlockableError`, checked when train.py's flags are validated, on every
worker) unless the run says it is the only one (`allow_unlocked`, train.py's
--allow_unlocked_train_dir); it then runs unlocked, with a warning. Under
multi-worker training only the chief takes the lock (the others never write to
train_dir). No TensorFlow here.
"""
import datetime
import fcntl
import json
import os
import socket
import sys

from magenta_style.errors import MagentaStyleError

LOCK_FILE = "train.lock"


class TrainDirBusyError(MagentaStyleError):
    """Another live process holds the train_dir's lock."""


class TrainDirUnlockableError(MagentaStyleError):
    """A train_dir on a store where no lock can be taken, without allow_unlocked."""


FILE_SCHEME = "file://"


def local_path(train_dir):
    """The local directory of `train_dir` (a `file://` URL too), or None on another scheme."""
    train_dir = os.fspath(train_dir)
    if train_dir.startswith(FILE_SCHEME):
        return train_dir[len(FILE_SCHEME):]
    return None if "://" in train_dir else train_dir


def check_lockable(train_dir, allow_unlocked):
    """Raises TrainDirUnlockableError for a train_dir that cannot be locked, unless allowed."""
    if allow_unlocked or local_path(train_dir) is not None:
        return
    scheme = os.fspath(train_dir).split("://", 1)[0]
    raise TrainDirUnlockableError(
        f"--train_dir={train_dir}: a {scheme}:// train_dir cannot be locked (tf.io.gfile has no "
        "atomic create-if-absent there), so a second run on it would mix its checkpoints with "
        "this one's unnoticed: if no other run uses it, pass --allow_unlocked_train_dir; or "
        "train into a local directory and copy it there")


def _describe(holder):
    if not holder:
        return "another process (no details recorded)"
    text = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    if holder.get("started"):
        text += f", started {holder['started']}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def _read_holder(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 1 << 16).decode("utf-8", "replace").strip()
    if not raw:
        return None
    try:
        holder = json.loads(raw)
    except json.JSONDecodeError:
        return {"command": raw[:200]}
    return holder if isinstance(holder, dict) else None


def _same_file(fd, path):
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


class TrainDirLock:
    """Context manager holding `<train_dir>/train.lock` (see the module doc).

    note: called with one line when a dead run's lock is taken over, or an unlockable
    train_dir is used unlocked; allow_unlocked: run on such a train_dir (else refused).
    """

    def __init__(self, train_dir, note=print, allow_unlocked=False):
        self.train_dir, self.note = os.fspath(train_dir), note
        self.allow_unlocked, self.unlocked = allow_unlocked, False
        self.directory = local_path(self.train_dir)
        self.path = os.path.join(self.directory or self.train_dir, LOCK_FILE)
        self.fd = None

    @property
    def supported(self):
        return self.directory is not None

    def _note(self, line):
        if self.note:
            self.note(line)

    def acquire(self):
        if self.fd is not None or self.unlocked:
            return self
        if not self.supported:
            check_lockable(self.train_dir, self.allow_unlocked)
            self.unlocked = True
            self._note(f"warning: --train_dir={self.train_dir} is not locked "
                       "(--allow_unlocked_train_dir): no other run may use it meanwhile")
            return self
        os.makedirs(self.directory, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise TrainDirBusyError(
                    f"--train_dir={self.train_dir} is in use by {_describe(holder)} (lock file "
                    f"{self.path}): wait for that run to end or use another --train_dir") from None
            # The previous holder may have removed the file between our open and flock.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        previous = _read_holder(fd)
        if previous:
            self._note(f"note: {self.path}: taking over the lock of {_describe(previous)}, "
                      "which is no longer running")
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.datetime.now(datetime.timezone.utc).strftime(
                      "%Y-%m-%d %H:%M:%S UTC"),
                  "command": " ".join([os.path.basename(sys.argv[0] or "python"),
                                       *sys.argv[1:]])[:500]}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self):
        """Removes the lock file (while still holding it) and lets go."""
        self.unlocked = False
        if self.fd is None:
            return
        try:
            if _same_file(self.fd, self.path):
                os.unlink(self.path)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
