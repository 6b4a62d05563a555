"""Magenta TF1 checkpoints (full Inception-v3 model or a MobileNetV2 one) into a Stylizer."""
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import stylizer as stylizer_lib
from magenta_style.nets import transfer
from magenta_style.weights.assign import assign_from_table
from magenta_style.weights.names import tf1_checkpoint_table

# A variable that only each model type's style predictor has.
MODEL_TYPE_MARKERS = (("InceptionV3/Conv2d_1a_3x3/weights", "full"),
                      ("MobilenetV2/Conv/weights", "mobile"))


CONV1 = "transformer/contract/conv1/weights"


def load_tf1_checkpoint(prefix):
    """Stylizer from a Magenta TF1 checkpoint (full Inception or MobileNetV2 model).

    Every predictor / bottleneck / style-parameter head / transformer variable
    of the reference graph is read; optimizer slots, `vgg_16/*` and other extra
    variables are ignored. The width multiplier comes from the contract/conv1
    kernel. Raises ModelSpecError naming a missing or mis-shaped variable.
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        reason = getattr(error, "message", str(error)).splitlines()[0]
        raise ModelSpecError(f"{prefix}: cannot read checkpoint ({reason})") from None
    return stylizer_from_tf1_variables(prefix, reader.get_variable_to_shape_map(),
                                       reader.get_tensor, "checkpoint")


def stylizer_from_tf1_variables(source, shapes, read_tensor, kind="checkpoint"):
    """Stylizer from variables by their Magenta TF1 names.

    source: path for messages; shapes: {TF1 name: shape}; read_tensor(name) -> array;
    kind: what `source` is, for the message when it holds no Magenta model.
    """
    model_type = next((kind_ for marker, kind_ in MODEL_TYPE_MARKERS if marker in shapes), None)
    if model_type is None:
        raise ModelSpecError(f"{source}: not a Magenta arbitrary stylization {kind} (neither "
                             f"{' nor '.join(marker for marker, _ in MODEL_TYPE_MARKERS)} found)")
    if CONV1 not in shapes:
        raise ModelSpecError(f"{source}: variable {CONV1} missing")
    alpha = shapes[CONV1][-1] / transfer.CONTRACT_LAYERS[0][3]
    model = stylizer_lib.build_stylizer(model_type, alpha=alpha)

    def read(name):
        if name not in shapes:
            raise ModelSpecError(f"{source}: variable {name} missing")
        return read_tensor(name)

    assign_from_table(model, tf1_checkpoint_table(model_type, alpha), read)
    return model
