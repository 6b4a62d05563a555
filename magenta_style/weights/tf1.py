"""Magenta TF1 checkpoints (full Inception-v3 model or a MobileNetV2 one) into a Stylizer."""
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import stylizer as stylizer_lib
from magenta_style.nets import transfer
from magenta_style.weights.assign import assign_from_table
from magenta_style.weights.names import tf1_checkpoint_table


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
    shapes = reader.get_variable_to_shape_map()
    if "InceptionV3/Conv2d_1a_3x3/weights" in shapes:
        model_type = "full"
    elif "MobilenetV2/Conv/weights" in shapes:
        model_type = "mobile"
    else:
        raise ModelSpecError(f"{prefix}: not a Magenta arbitrary stylization checkpoint (neither "
                             "InceptionV3/Conv2d_1a_3x3/weights nor MobilenetV2/Conv/weights found)")
    conv1 = "transformer/contract/conv1/weights"
    if conv1 not in shapes:
        raise ModelSpecError(f"{prefix}: variable {conv1} missing")
    alpha = shapes[conv1][-1] / transfer.CONTRACT_LAYERS[0][3]
    model = stylizer_lib.build_stylizer(model_type, alpha=alpha)

    def read(name):
        if name not in shapes:
            raise ModelSpecError(f"{prefix}: variable {name} missing")
        return reader.get_tensor(name)

    assign_from_table(model, tf1_checkpoint_table(model_type, alpha), read)
    return model
