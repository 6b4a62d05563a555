"""evaluation.py and evaluate.py on tiny generated style and content sets, random VGG, 64 px."""
import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import defaults
from magenta_style.evaluation import plots
from magenta_style.evaluation.loop import (
    EvaluationError,
    LossEvaluator,
    _style_batches,
    evaluate,
    load_content_images,
)
from magenta_style.evaluation.models import EvalModel, from_stylizer, load_eval_model
from magenta_style.evaluation.reports import (
    BEATS_IDENTITY_MARGIN,
    OUTPUT_FILES,
    PER_STYLE_FILE,
    weights_fingerprint,
)
from magenta_style.nets import vgg
from tests import ROOT
from tests.helpers import fake_data
from tests.helpers.models import random_stylizer

SIZE = 64
NUM_UNOBSERVED, NUM_OBSERVED, NUM_CONTENT = 5, 4, 3


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_data")
    return {
        "unobserved": fake_data.write_style_tfrecord(str(root / "eval.tfrecord"),
                                                     NUM_UNOBSERVED, 72, seed=1),
        "observed": fake_data.write_style_tfrecord(str(root / "train.tfrecord"),
                                                   NUM_OBSERVED, 72, seed=2),
        "content": os.path.dirname(fake_data.write_imagenet_shards(
            str(root / "imagenet"), num_shards=1, images_per_shard=NUM_CONTENT, size=72,
            split="validation")[0]),
        "root": root,
    }


@pytest.fixture(scope="module")
def loss_network():
    keras.utils.set_random_seed(0)
    return vgg.build_vgg16()


@pytest.fixture(scope="module")
def mobile_model(sets):
    """A random mobile Stylizer whose pictures depend on the style (tests/helpers/models.py) and
    a train_dir holding it at step 7 (as train.py writes)."""
    from magenta_style.weights.run_dir import write_train_config
    model = random_stylizer("mobile", seed=1)
    train_dir = str(sets["root"] / "train_dir")
    write_train_config(train_dir, model)
    checkpoint = tf.train.Checkpoint(model=model, step=tf.Variable(7, dtype=tf.int64))
    tf.train.CheckpointManager(checkpoint, train_dir, 1, step_counter=checkpoint.step).save(7)
    return model, train_dir


def identity_model():
    """Outputs its content unchanged; the 'embedding' is the style's mean colour."""
    return EvalModel(lambda style: tf.reduce_mean(style, axis=[1, 2]),
                     lambda content, bottleneck: content, {"kind": "identity"})


def run_evaluation(model, loss_network, sets, eval_dir, observed=True, **kwargs):
    sources = {"unobserved": [sets["unobserved"]]}
    if observed:
        sources["observed"] = [sets["observed"]]
    options = dict(num_styles=NUM_UNOBSERVED, allow_fewer=True, num_content_images=NUM_CONTENT,
                   batch_size=2, image_size=SIZE, seed=3)
    options.update(kwargs)
    return evaluate(model, loss_network, sets["content"], sources, str(eval_dir),
                    **options)


@pytest.mark.slow
def test_outputs_keys_counts_and_determinism(sets, loss_network, mobile_model, tmp_path):
    model = from_stylizer(mobile_model[0])
    first = run_evaluation(model, loss_network, sets, tmp_path / "a")
    for name in OUTPUT_FILES:
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "a"))

    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(first))
    assert set(metrics["losses"]) == {"unobserved", "observed"}
    keys = {"total_loss", "total_content_loss", "total_style_loss", "content_loss/vgg_16/conv3",
            "weighted_content_loss/vgg_16/conv3", "total_variation_loss",
            "weighted_total_variation_loss",
            *(f"{kind}style_loss/vgg_16/conv{i}" for kind in ("", "weighted_") for i in range(1, 5))}
    for name, count in (("unobserved", NUM_UNOBSERVED), ("observed", NUM_OBSERVED)):
        assert set(metrics["losses"][name]) == keys
        for stats in metrics["losses"][name].values():
            assert set(stats) == {"count", "mean", "median", "p10", "p90"}
            assert stats["count"] == count and np.isfinite(stats["mean"])
            assert stats["p10"] <= stats["median"] <= stats["p90"]
    assert metrics["data"]["content"]["num_images"] == NUM_CONTENT
    assert metrics["data"]["observed"]["num_styles"] == NUM_OBSERVED
    assert metrics["model"]["model_type"] == "mobile"
    assert metrics["settings"]["style_weights"]["vgg_16/conv1"] == 1e-3
    assert set(metrics["comparison"]["unobserved_over_observed"]) == keys

    with open(tmp_path / "a" / "per_style.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == NUM_UNOBSERVED + NUM_OBSERVED
    assert [row["set"] for row in rows].count("observed") == NUM_OBSERVED
    assert rows[0]["source"] == "fake" and rows[0]["filename"] == "1_0.jpg"
    unobserved_totals = [float(row["total_loss"]) for row in rows if row["set"] == "unobserved"]
    assert np.mean(unobserved_totals) == pytest.approx(
        metrics["losses"]["unobserved"]["total_loss"]["mean"], rel=1e-12)
    # Per style, each weighted term is its loss times evaluate's weight, and the total their sum.
    weights = {"content_loss/vgg_16/conv3": 1.0, "total_variation_loss": 1e4,
               **{f"style_loss/vgg_16/conv{i}": 1e-3 for i in range(1, 5)}}
    for row in rows:
        for key, weight in weights.items():
            assert float(row["weighted_" + key]) == pytest.approx(weight * float(row[key]),
                                                                  rel=1e-6), key
        assert float(row["total_loss"]) == pytest.approx(
            sum(weight * float(row[key]) for key, weight in weights.items()), rel=1e-5)

    # Same inputs and seed: the same styles, images and settings, and the same losses to
    # float32 rounding (oneDNN may block a reduction differently from run to run: CI once
    # saw one float32 ulp of difference).
    run_evaluation(model, loss_network, sets, tmp_path / "b")
    assert_same_metrics(metrics, json.loads((tmp_path / "b" / "metrics.json").read_text()))


def assert_same_metrics(first, second, path="metrics", rel=1e-6):
    """Equal structure, strings and integers; floats within `rel`."""
    if isinstance(first, dict):
        assert isinstance(second, dict) and sorted(first) == sorted(second), path
        for key in first:
            assert_same_metrics(first[key], second[key], f"{path}.{key}", rel)
    elif isinstance(first, list):
        assert isinstance(second, list) and len(first) == len(second), path
        for i, (a, b) in enumerate(zip(first, second)):
            assert_same_metrics(a, b, f"{path}[{i}]", rel)
    elif isinstance(first, float):
        assert isinstance(second, float) and second == pytest.approx(first, rel=rel), path
    else:
        assert type(first) is type(second) and first == second, path


def test_per_style_losses_match_reference_total_loss(sets, loss_network, mobile_model):
    """One style x the content images: the evaluator's terms = losses.total_loss per pair."""
    from magenta_style.nets import losses
    model, _ = mobile_model
    content, _ = load_content_images(sets["content"], 2, SIZE)
    style = _style_batches([sets["unobserved"]], 1, SIZE).take(1).get_single_element()
    style = style["image"]
    evaluator = LossEvaluator(loss_network, content)
    grams = evaluator.style_grams(style)
    for index in range(2):
        stylized = model((content[index:index + 1], style))
        terms = evaluator.pair_terms(stylized, index, grams)
        _, expected = losses.total_loss(content[index:index + 1], style, stylized, loss_network,
                                        defaults.EVAL_CONTENT_WEIGHTS,
                                        defaults.EVAL_STYLE_WEIGHTS, 1e4)
        for key, value in expected.items():
            assert float(terms[key][0]) == pytest.approx(float(value), rel=1e-4), key


def test_identity_model_has_zero_content_loss(sets, loss_network, tmp_path):
    metrics = run_evaluation(identity_model(), loss_network, sets, tmp_path, observed=False)
    stats = metrics["losses"]["unobserved"]
    # Zero but for float rounding: the content's features come from another VGG batch.
    assert stats["total_content_loss"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert stats["content_loss/vgg_16/conv3"]["p90"] == pytest.approx(0.0, abs=1e-9)
    assert stats["total_style_loss"]["mean"] > 0
    assert "comparison" not in metrics and "observed" not in metrics["data"]


class IdentityModule(tf.Module):
    """A SavedModel with export.py's signatures that returns its content unchanged."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def predict_style(self, style_image):
        return {"style_bottleneck": tf.reduce_mean(style_image, axis=[1, 2], keepdims=True)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                  tf.TensorSpec([None, 1, 1, 3], tf.float32)])
    def transfer(self, content_image, style_bottleneck):
        return {"stylized_image": tf.identity(content_image)}


def test_saved_model_is_evaluated_through_its_signatures(sets, loss_network, tmp_path):
    module = IdentityModule()
    tf.saved_model.save(module, str(tmp_path / "export" / "saved_model"),
                        signatures={"predict_style": module.predict_style,
                                    "transfer": module.transfer})
    model = load_eval_model(str(tmp_path / "export"))  # export.py's output_dir
    assert model.identity["kind"] == "saved_model" and len(model.identity["files_sha256"]) == 64
    metrics = run_evaluation(model, loss_network, sets, tmp_path / "eval", observed=False,
                             num_styles=2)
    assert metrics["losses"]["unobserved"]["total_content_loss"]["mean"] == pytest.approx(
        0.0, abs=1e-9)
    assert metrics["losses"]["unobserved"]["total_loss"]["count"] == 2


def test_refuses_to_overwrite_and_to_evaluate_fewer_styles(sets, loss_network, tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(FileExistsError, match="metrics.json.*--overwrite"):
        run_evaluation(identity_model(), loss_network, sets, tmp_path, observed=False)
    with pytest.raises(EvaluationError,
                       match=r"unobserved styles .*eval.tfrecord: only 5 usable styles, "
                             r"--num_evaluation_styles asks for 8 \(pass --allow_fewer"):
        run_evaluation(identity_model(), loss_network, sets, tmp_path / "new", observed=False,
                       num_styles=8, allow_fewer=False)
    with pytest.raises(EvaluationError, match="only 3 usable content images"):
        run_evaluation(identity_model(), loss_network, sets, tmp_path / "new", observed=False,
                       num_content_images=5)
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_full_model_below_inceptions_smallest_style_is_one_line(sets, loss_network, tmp_path):
    """Inception-v3 on a 32 px style used to kill the process with SIGFPE, not an error."""
    never_run = EvalModel(None, None, {"kind": "stylizer", "model_type": "full"})
    with pytest.raises(EvaluationError, match=r"^--image_size=74: the full model's style "
                                              r"predictor needs at least 75 px$"):
        run_evaluation(never_run, loss_network, sets, tmp_path / "eval", image_size=74)
    assert not (tmp_path / "eval").exists()


def test_pca_and_colour_groups():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 5)) * [10, 3, 1, 0.1, 0.1]
    projected = plots.pca_2d(points)
    assert projected.shape == (20, 2)
    assert np.var(projected[:, 0]) > np.var(projected[:, 1])
    np.testing.assert_array_equal(projected, plots.pca_2d(points))
    rows = [{"category": "", "style": s, "source": "pbn"} for s in "aabbbcdefghijklm"]
    key, groups = plots.colour_groups(rows, max_groups=3)
    assert key == "style"
    assert groups[:5] == ["a", "a", "b", "b", "b"] and groups[-1] == plots.OTHER


def evaluate_cli(*args):
    command = [sys.executable, os.path.join(ROOT, "evaluate.py"), "--vgg_weights=random",
               f"--image_size={SIZE}", "--batch_size=4", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.slow
def test_cli_allow_fewer_and_errors(sets, mobile_model, tmp_path):
    common = [f"--checkpoint={mobile_model[1]}", f"--eval_style_dataset_file={sets['unobserved']}",
              f"--imagenet_data_dir={sets['content']}", "--num_content_images=2",
              "--num_evaluation_styles=6"]
    eval_dir = tmp_path / "eval"
    result = evaluate_cli(*common, f"--eval_dir={eval_dir}")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"evaluate.py: error: unobserved styles {sets['unobserved']}: only 5 usable styles, "
        "--num_evaluation_styles asks for 6 (pass --allow_fewer to evaluate those)")
    assert not eval_dir.exists()

    result = evaluate_cli(*common, f"--eval_dir={eval_dir}", "--allow_fewer")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    assert metrics["data"]["unobserved"] == {**metrics["data"]["unobserved"], "num_styles": 5,
                                             "requested_styles": 6}
    assert metrics["settings"]["checkpoint"] == mobile_model[1]
    assert metrics["model"]["step"] == 7 and metrics["model"]["checkpoint"] == "ckpt-7"
    assert metrics["model"]["weights_sha256"] == weights_fingerprint(
        mobile_model[0].weights)
    assert "styles/s" in result.stderr and "img/s" not in result.stderr  # progress line

    result = evaluate_cli(*common, f"--eval_dir={tmp_path / 'x'}",
                          '--style_weights={"vgg_16/conv9": 1}')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "evaluate.py: error: --style_weights: unknown style layer(s) vgg_16/conv9")
    # Loss weights are checked against the chosen loss network's endpoints.
    result = evaluate_cli(*common, f"--eval_dir={tmp_path / 'x'}", "--loss_network=vgg19",
                          '--content_weights={"vgg_16/conv3": 1}')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "evaluate.py: error: --content_weights: unknown content layer(s) vgg_16/conv3; "
        "known vgg19 endpoints: vgg_19/conv1")


@pytest.mark.slow
def test_released_mobile_model_and_its_exported_saved_model(sets, loss_network, tmp_path,
                                                            pretrained_cache):
    from magenta_style.export.saved_model import save_saved_model
    from magenta_style.weights import load_model
    from magenta_style.weights.pretrained import PRETRAINED_MOBILE
    model = load_eval_model(PRETRAINED_MOBILE)
    assert model.identity["spec"] == "pretrained:mobile"
    assert model.identity["model_type"] == "mobile" and model.identity["alpha"] == 0.25
    metrics = run_evaluation(model, loss_network, sets, tmp_path / "eval", observed=False,
                             num_styles=3, num_content_images=2)
    stats = metrics["losses"]["unobserved"]
    assert stats["total_loss"]["count"] == 3
    assert stats["total_content_loss"]["mean"] > 0 and np.isfinite(stats["total_loss"]["mean"])
    # Real weights: distinct styles get distinct stylizations, hence spread-out style losses.
    assert stats["total_style_loss"]["p90"] > stats["total_style_loss"]["p10"]

    # The same model exported by export.py, evaluated through its signatures: same numbers.
    save_saved_model(load_model(PRETRAINED_MOBILE),
                     str(tmp_path / "export" / "saved_model"))
    exported = run_evaluation(load_eval_model(str(tmp_path / "export")), loss_network,
                              sets, tmp_path / "eval_exported", observed=False, num_styles=3,
                              num_content_images=2)
    assert exported["model"]["kind"] == "saved_model"
    assert exported["data"] == metrics["data"]
    for key, values in stats.items():
        for name in ("mean", "p10", "p90"):
            assert exported["losses"]["unobserved"][key][name] == pytest.approx(
                values[name], rel=1e-3, abs=1e-7), (key, name)


def _per_style_rows(eval_dir):
    with open(eval_dir / PER_STYLE_FILE, newline="") as stream:
        return list(csv.DictReader(stream))


def test_identity_floor_in_metrics_and_csv(sets, loss_network, mobile_model, tmp_path):
    """Beside the model's losses, the identity's (content returned unchanged): equal to those
    of a model that returns its content, and the share of styles where the model beats it."""
    baseline = run_evaluation(identity_model(), loss_network, sets, tmp_path / "identity",
                              observed=False)
    assert_same_metrics(baseline["identity"], baseline["losses"])  # the identity is the identity
    versus = baseline["versus_identity"]["unobserved"]["total_style_loss"]
    assert versus["share_below"] == 0.0 and versus["median_ratio"] == pytest.approx(1.0, rel=1e-6)
    metrics = run_evaluation(from_stylizer(mobile_model[0]), loss_network, sets,
                             tmp_path / "model", observed=False)
    assert_same_metrics(metrics["identity"], baseline["losses"])
    rows, identity_rows = (_per_style_rows(tmp_path / name) for name in ("model", "identity"))
    assert [row["filename"] for row in rows] == [row["filename"] for row in identity_rows]
    # The identity run's own losses: no content loss, and the content's total variation
    # whatever the style; the model run's identity columns are those losses, style by style.
    for row in identity_rows:
        assert float(row["total_content_loss"]) == 0.0
        assert float(row["total_variation_loss"]) == pytest.approx(
            float(identity_rows[0]["total_variation_loss"]), rel=1e-6)
    for row, identity in zip(rows, identity_rows):
        for key in ("total_loss", "total_style_loss", "total_variation_loss"):
            assert float(row["identity/" + key]) == pytest.approx(float(identity[key]),
                                                                  rel=1e-6), key
    model_style = np.array([float(row["total_style_loss"]) for row in rows])
    identity_style = np.array([float(row["total_style_loss"]) for row in identity_rows])
    assert len(set(identity_style)) == len(identity_style)  # a different loss for each style
    beats = model_style < identity_style * (1 - BEATS_IDENTITY_MARGIN)
    assert [int(row["beats_identity"]) for row in rows] == list(beats.astype(int))
    versus = metrics["versus_identity"]["unobserved"]["total_style_loss"]
    assert versus["share_below"] == pytest.approx(np.mean(beats))
    assert versus["median_ratio"] == pytest.approx(np.median(model_style / identity_style))
