"""Identities of files and folders (sha256), for caches keyed by what they were made from and
for reports that say which model they measured.

- `file_digest(path)`: a file's bytes (sha256, or another algorithm: Keras' files have md5s).
- `files_digest(paths)`: several files' bytes, with their names (which is which).
- `tree_digest(directory)`: every file below a folder, by relative name and bytes.
- `tree_stat_digest(directory)`: the same by relative name, size and modification time: cheap
  for folders of large checkpoints (a rewritten file changes both).
Paths may be any tf.io.gfile path where TensorFlow is loaded (`tree_digest(..., gfile=True)`).
"""
import hashlib
import os

BLOCK_BYTES = 1 << 20


def _update_with_file(digest, path, opener=open):
    with opener(path, "rb") as stream:
        for block in iter(lambda: stream.read(BLOCK_BYTES), b""):
            digest.update(block)


def file_digest(path, algorithm="sha256"):
    """Hex digest of a file's bytes (sha256; 'md5' for files published with one)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    _update_with_file(digest, path)
    return digest.hexdigest()


def files_digest(paths):
    """sha256 hex of the files' bytes, in name order, with their base names where there are
    several (so swapping two files' contents changes it)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if len(paths) > 1:
            digest.update(os.path.basename(path).encode() + b"\0")
        _update_with_file(digest, path)
    return digest.hexdigest()


def _walk(directory, gfile):
    if gfile:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.io.gfile.walk(directory), tf.io.gfile.GFile
    return os.walk(directory), open


def tree_digest(directory, gfile=False):
    """sha256 hex of every file below `directory`: relative names and bytes, sorted."""
    digest = hashlib.sha256()
    walk, opener = _walk(directory, gfile)
    for root, _, names in sorted(walk):
        for name in sorted(names):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode())
            _update_with_file(digest, path, opener)
    return digest.hexdigest()


def tree_stat_digest(directory, skipped_prefixes=()):
    """sha256 hex of every file below `directory` (except names starting with one of
    `skipped_prefixes`): relative names, sizes and modification times."""
    digest = hashlib.sha256()
    for root, _, names in sorted(os.walk(directory)):
        for name in sorted(names):
            if name.startswith(tuple(skipped_prefixes)):
                continue
            path = os.path.join(root, name)
            info = os.stat(path)
            digest.update(f"{os.path.relpath(path, directory)}\0{info.st_size}\0"
                          f"{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()
