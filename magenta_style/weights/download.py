"""Downloading a model archive and unpacking it safely (for `pretrained:full`).

`download(url, path)` writes to a temporary file beside `path` and renames it only once every
byte announced by the server arrived: an interrupted download leaves nothing behind.
`extract_tar(archive, target)` unpacks regular files and directories only, refusing absolute
paths, `..`, links and devices, so a hostile archive cannot write outside `target`.
"""
import os
import tarfile
import urllib.error
import urllib.request

from magenta_style import defaults, image_io
from magenta_style.errors import ModelSpecError
from magenta_style.progress import Progress

CHUNK_BYTES = 1 << 20
MIB = float(1 << 20)


class DownloadError(ModelSpecError):
    """A download that did not complete; str() names the URL and the reason."""


def download(url, path, timeout=defaults.DOWNLOAD_TIMEOUT_S, log=None):
    """Downloads `url` to `path` (atomically), logging progress lines with size, rate and ETA.

    Raises DownloadError when the server cannot be reached, answers an error, or the
    connection ends before the announced length.
    """
    with image_io.atomic_path(path, overwrite=True) as temporary, open(temporary, "wb") as output:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                _copy(response, output, url, log)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise DownloadError(f"{url}: download failed ({reason})") from None
    return path


def _copy(response, output, url, log):
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    progress = Progress(round((total or 0) / MIB, 1), "MiB", name=f"downloading {url}",
                        interval=defaults.PROGRESS_INTERVAL_S, log=log)
    received = 0
    while True:
        chunk = response.read(CHUNK_BYTES)
        if not chunk:
            break
        output.write(chunk)
        received += len(chunk)
        if total is None:
            progress.total = round(received / MIB, 1)
        progress.update(round(received / MIB, 1))
    if total is not None and received < total:
        raise DownloadError(f"{url}: connection closed after {received} of {total} bytes")
    progress.update(round(received / MIB, 1), final=True)


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
