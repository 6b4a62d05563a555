"""Downloading a file safely (retried, checked, atomic), and unpacking an archive safely.

`download(url, path)` writes to a temporary file beside `path` and renames it only once every
byte announced by the server arrived (and, where one is given, the md5 digest matches): an
interrupted download leaves nothing behind. A failure that may pass (no connection, a name
that does not resolve, a timeout, a connection cut short, HTTP 408 / 429 / 5xx) is tried again
after a doubling wait (`Retry`); the one-line DownloadError counts the tries. A full disk is
image_io's OutputWriteError naming `path`, never retried.
`extract_tar(archive, target)` unpacks regular files and directories only, refusing absolute
paths, `..`, links and devices, so a hostile archive cannot write outside `target`.
"""
import dataclasses
import hashlib
import http.client
import os
import ssl
import sys
import tarfile
import time
import typing
import urllib.error
import urllib.request

from magenta_style import defaults, image_io
from magenta_style.errors import ModelSpecError
from magenta_style.progress import Progress

CHUNK_BYTES = 1 << 20
MIB = float(1 << 20)
# HTTP statuses worth another try: timeouts, rate limits and server-side failures.
TRANSIENT_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class Retry:
    """How often a download is tried in all, and the first wait between tries (then doubled)."""
    tries: int = defaults.DOWNLOAD_TRIES
    backoff_s: float = defaults.DOWNLOAD_BACKOFF_S
    sleep: typing.Callable[[float], None] = time.sleep

    def wait(self, failed_tries):
        """Seconds to wait after `failed_tries` failed tries."""
        return self.backoff_s * 2 ** (failed_tries - 1)


RETRY = Retry()  # what download() uses unless given one (tests give one that does not sleep)


class DownloadError(ModelSpecError):
    """A download that did not complete; str() names the URL, the reason and the tries."""

    def __init__(self, url, reason, tries=1):
        self.url, self.reason, self.tries = url, reason, tries
        counted = f" after {tries} tries" if tries > 1 else ""
        super().__init__(f"{url}: download failed{counted} ({reason})")


class _Failure(Exception):
    """One failed try: why, and whether another try may succeed."""

    def __init__(self, reason, transient):
        super().__init__(reason)
        self.reason, self.transient = reason, transient


def _failure(error, timeout):
    """The _Failure of a network error raised by urlopen or a read."""
    if isinstance(error, urllib.error.HTTPError):
        return _Failure(f"HTTP {error.code} {error.reason}", error.code in TRANSIENT_HTTP_STATUSES)
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, TimeoutError):
        return _Failure(f"timed out: no data for {timeout:g} s", True)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _Failure(f"certificate not trusted: {cause.verify_message or cause}", False)
    if isinstance(cause, OSError):
        return _Failure(cause.strerror or str(cause) or type(cause).__name__, True)
    if isinstance(cause, http.client.HTTPException):  # e.g. IncompleteRead, a bad status line
        return _Failure(f"{type(cause).__name__} {cause}".strip(), True)
    return _Failure(str(cause), False)  # e.g. ValueError: an unknown URL type


def _stderr(line):
    print(line, file=sys.stderr, flush=True)


def download(url, path, timeout=defaults.DOWNLOAD_TIMEOUT_S, log=None, md5=None, retry=None):
    """Downloads `url` to `path` (atomically), logging progress lines with size, rate and ETA.

    md5: the file's expected md5 hex digest, checked before it is kept; retry: a Retry
    (default RETRY). Raises DownloadError when the server cannot be reached, answers an
    error, the connection ends before the announced length or the digest differs (after
    the tries a transient failure gets); OutputWriteError when `path`'s disk is full.
    """
    retry = retry or RETRY
    for attempt in range(1, retry.tries + 1):
        try:
            with image_io.atomic_path(path, overwrite=True) as temporary:
                with open(temporary, "wb") as output:
                    digest = _fetch(url, output, timeout, log)
                if md5 and digest != md5:
                    raise _Failure(f"md5 {digest}, expected {md5}: a damaged or different file",
                                   False)
            return path
        except _Failure as failure:
            if not failure.transient or attempt == retry.tries:
                raise DownloadError(url, failure.reason, attempt) from None
            wait = retry.wait(attempt)
            (log or _stderr)(f"downloading {url}: {failure.reason}; trying again in {wait:g} s "
                             f"(try {attempt + 1} of {retry.tries})")
            retry.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def _fetch(url, output, timeout, log):
    """Copies the body of `url` into `output`; returns its md5. Network faults are _Failure,
    write faults (a full disk) the OSError itself."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # pylint: disable=consider-using-with
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        raise _failure(error, timeout) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        progress = Progress(round((total or 0) / MIB, 1), "MiB", name=f"downloading {url}",
                            interval=defaults.PROGRESS_INTERVAL_S, log=log)
        digest, received = hashlib.md5(usedforsecurity=False), 0
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as error:
                raise _failure(error, timeout) from None
            if not chunk:
                break
            output.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if total is None:
                progress.total = round(received / MIB, 1)
            progress.update(round(received / MIB, 1))
    if total is not None and received < total:
        raise _Failure(f"connection closed after {received} of {total} bytes", True)
    progress.update(round(received / MIB, 1), final=True)
    return digest.hexdigest()


def _unsafe_reason(member, target):
    name = member.name
    if not (member.isfile() or member.isdir()):
        return "a link or special file" if (member.issym() or member.islnk()) else "not a file"
    if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
        return "a path outside the target"
    resolved = os.path.realpath(os.path.join(target, name))
    if os.path.commonpath([resolved, os.path.realpath(target)]) != os.path.realpath(target):
        return "a path outside the target"
    return None


def extract_tar(archive, target):
    """Unpacks the tar archive (any compression) into `target`; returns the extracted paths.

    Raises ModelSpecError naming the first member that is a link, a device, an absolute path
    or one that would land outside `target`; nothing is extracted then.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                reason = _unsafe_reason(member, target)
                if reason:
                    raise ModelSpecError(f"{archive}: refusing to extract {member.name!r} "
                                         f"({reason})")
            if hasattr(tarfile, "data_filter"):  # defense in depth where Python has it
                tar.extractall(target, members=members, filter="data")
            else:
                tar.extractall(target, members=members)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ModelSpecError(f"{archive}: not a readable tar archive ({error})") from None
    return [os.path.join(target, member.name) for member in members if member.isfile()]
