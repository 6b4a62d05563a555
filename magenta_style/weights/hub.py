"""SavedModel folders: Magenta's TF Hub model into a Stylizer; ours told apart.

Magenta's `export_hub.py` (the published `magenta/arbitrary-image-stylization-v1-256/2`,
served by Kaggle as a tarball of this folder) saves its TF1 graph with every variable under its
TF1 name (`InceptionV3/...`, `transformer/...`): the names are read from `saved_model.pb`'s
object graph, the values from `variables/variables` (a TF2 checkpoint whose object graph has
the same node ids), and go through the TF1 name table. Nothing is traced or run.

export.py's SavedModel (signatures `predict_style` and `transfer`) is an inference graph:
`evaluate.py --checkpoint` runs it as it is; it is no model spec.
"""
import os

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2, trackable_object_graph_pb2

from magenta_style.errors import ModelSpecError
from magenta_style.weights.tf1 import stylizer_from_tf1_variables

SAVED_MODEL_FILE = "saved_model.pb"


OUR_SIGNATURES = ("predict_style", "transfer")  # export/saved_model.py's, besides serving_default
CHECKPOINT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VARIABLE_VALUE = "VARIABLE_VALUE"


def is_saved_model(path):
    """Whether `path` is a SavedModel folder (holds saved_model.pb)."""
    return tf.io.gfile.isdir(path) and tf.io.gfile.exists(os.path.join(path, SAVED_MODEL_FILE))


def _meta_graph(directory):
    path = os.path.join(directory, SAVED_MODEL_FILE)
    saved_model = saved_model_pb2.SavedModel()
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            saved_model.ParseFromString(f.read())
    except Exception as error:  # a truncated or foreign file: DecodeError and its kin
        raise ModelSpecError(f"{path}: not a readable SavedModel ({type(error).__name__})") from None
    if not saved_model.meta_graphs:
        raise ModelSpecError(f"{path}: a SavedModel without a graph")
    return saved_model.meta_graphs[0]


def is_exported_by_us(directory):
    """Whether the SavedModel in `directory` is export.py's (any version of it)."""
    return set(OUR_SIGNATURES) <= set(_meta_graph(directory).signature_def)


def saved_model_variables(directory):
    """({variable name: shape}, read(name) -> array) of a SavedModel's tracked variables."""
    nodes = _meta_graph(directory).object_graph_def.nodes
    prefix = os.path.join(directory, "variables", "variables")
    try:
        reader = tf.train.load_checkpoint(prefix)
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor(CHECKPOINT_GRAPH_KEY))
    except (tf.errors.OpError, ValueError) as error:
        reason = getattr(error, "message", str(error)).splitlines()[0]
        raise ModelSpecError(f"{prefix}: cannot read the SavedModel's variables ({reason})") from None
    if len(graph.nodes) != len(nodes):
        raise ModelSpecError(f"{prefix}: its object graph does not match {SAVED_MODEL_FILE}")
    keys, shapes = {}, {}
    for node, checkpointed in zip(nodes, graph.nodes):
        if node.WhichOneof("kind") != "variable":
            continue
        key = next((a.checkpoint_key for a in checkpointed.attributes if a.name == VARIABLE_VALUE),
                   None)
        if key is not None:
            keys[node.variable.name] = key
            shapes[node.variable.name] = [dim.size for dim in node.variable.shape.dim]
    return shapes, lambda name: reader.get_tensor(keys[name])


def load_hub_saved_model(directory):
    """Stylizer from Magenta's TF Hub SavedModel folder (export_hub.py's layout).

    Raises ModelSpecError in one line: export.py's own SavedModel, or a SavedModel without
    the Magenta variables (naming the first one missing).
    """
    if is_exported_by_us(directory):
        raise ModelSpecError(
            f"{directory}: a SavedModel exported by export.py holds the inference graph only; "
            "use the .keras file or train_dir it was exported from (evaluate.py --checkpoint "
            "runs it as it is)")
    shapes, read = saved_model_variables(directory)
    return stylizer_from_tf1_variables(directory, shapes, read, "SavedModel")
