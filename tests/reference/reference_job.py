"""Our side of the Magenta reference harness: weights by TF1 name, the job, the subprocess.

The harness (magenta_harness.py) runs in its own virtual environment (`make reference-env`);
we talk to it only through files: weights as {TF1 variable name: array} .npz files, inputs
as an .npz of named images, a JSON job, and an .npz of reference arrays back.
"""
import fcntl
import hashlib
import json
import os
import subprocess

import numpy as np

from magenta_style.nets import vgg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "magenta_harness.py")
PYTHON_ENV = "MAGENTA_REFERENCE_PYTHON"  # the reference venv's python, if not the default
DEFAULT_PYTHON = os.path.join(ROOT, ".venv-magenta", "bin", "python")


def reference_python():
    """The reference venv's python, or None when there is none."""
    path = os.environ.get(PYTHON_ENV) or DEFAULT_PYTHON
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def vgg_variables(loss_network):
    """[(TF1 variable name, Keras variable)] of our VGG-16 (slim's names)."""
    pairs = []
    for scope, keras_name in vgg.conv_layer_names():
        kernel, bias = loss_network.get_layer(keras_name).weights
        pairs += [(scope + "/weights", kernel), (scope + "/biases", bias)]
    return pairs


def random_tf1_value(name, shape, rng):
    """A random value for a TF1 variable that keeps activations of a random network O(1).

    Kernels He-normal (the style-parameter head's at a quarter of that: at full He scale the
    style norms saturate the sigmoid output into a near-binary image, which hides differences
    and amplifies float noise 5x); BatchNorm statistics near (0, 1); biases small, plus 1 for
    the style norm's gamma head (`StyleNorm/Conv_1`) so styles scale rather than erase features.
    """
    shape = tuple(shape)
    if name.endswith("weights"):  # conv / depthwise / 1x1 "Dense" kernels, HWIO or HWC1
        fan_in = np.prod(shape[:2]) if name.endswith("depthwise_weights") else np.prod(shape[:-1])
        scale = 0.25 if name.startswith("style_params/") else 1.0
        return rng.normal(0.0, scale * np.sqrt(2.0 / fan_in), shape)
    if name.endswith("moving_variance"):
        return rng.uniform(0.5, 1.5, shape)
    if name.endswith("gamma"):
        return rng.uniform(0.8, 1.2, shape)
    value = rng.normal(0.0, 0.1, shape)  # biases, beta, moving_mean
    if "StyleNorm/Conv_1/" in name:
        value += 1.0
    return value


def randomize(pairs, seed):
    """Sets every variable of `pairs` to random_tf1_value; returns {TF1 name: float32 array}
    in TF1 layout (1x1 "Dense" kernels as [1, 1, I, O])."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, variable in pairs:
        value = random_tf1_value(name, variable.shape, rng).astype(np.float32)
        variable.assign(value)
        arrays[name] = value
    return arrays


def job_digest(job, weights, inputs):
    """sha256 of everything the harness is given: equal digests, equal reference arrays."""
    digest = hashlib.sha256(json.dumps(job, sort_keys=True).encode())
    named = [(f"{model}/{name}", array) for model, arrays in sorted(weights.items())
             for name, array in sorted(arrays.items())]
    for name, array in named + sorted(inputs.items()):
        array = np.ascontiguousarray(array)
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def run_harness_once(cache_dir, directory, job, weights, inputs):
    """run_harness, shared through `cache_dir` by processes asking for the same job (pytest-xdist
    workers of one session): the first runs it, the others wait on a lock and read its arrays."""
    path = os.path.join(str(cache_dir), f"magenta_reference_{job_digest(job, weights, inputs)}.npz")
    with open(path + ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            arrays = run_harness(directory, job, weights, inputs)
            np.savez(path + ".partial.npz", **arrays)
            os.replace(path + ".partial.npz", path)
            return arrays
    with np.load(path) as arrays:
        return {key: arrays[key] for key in arrays.files}


def run_harness(directory, job, weights, inputs, timeout=900):
    """Writes the job files into `directory`, runs the harness, returns its arrays.

    weights: {model: {TF1 name: array}}; inputs: {key: array}. Raises RuntimeError with the
    harness's stderr tail when it fails.
    """
    python = reference_python()
    if python is None:
        raise RuntimeError("no reference environment: run `make reference-env`")
    directory = str(directory)
    job = dict(job, weights={}, inputs="inputs.npz")
    for model, arrays in weights.items():
        np.savez(os.path.join(directory, f"weights_{model}.npz"), **arrays)
        job["weights"][model] = f"weights_{model}.npz"
    np.savez(os.path.join(directory, "inputs.npz"), **inputs)
    job_path = os.path.join(directory, "job.json")
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f, indent=1)
    output = os.path.join(directory, "reference.npz")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="",
                       CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([python, HARNESS, job_path, output], capture_output=True, text=True,
                            timeout=timeout, env=environment, cwd=directory, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-25:])
        raise RuntimeError(f"Magenta harness failed (exit {result.returncode}):\n{tail}")
    with np.load(output) as arrays:
        return {key: arrays[key] for key in arrays.files}


def missing_environment_reason():
    return (f"no Magenta reference environment ({DEFAULT_PYTHON} or ${PYTHON_ENV}); "
            "`make reference-env` creates it, `make test` does so and runs these tests")

