"""Style-predictor backbones from TF-slim ImageNet checkpoints.

`inception_v3_2016_08_28` (`InceptionV3/<scope>/weights`, `.../BatchNorm/{beta,
moving_mean,moving_variance}`) for the full model, the slim `mobilenet_v2_1.0_224`
checkpoint (`MobilenetV2/...`) for the mobile one: the backbone rows of the
weight import's Magenta TF1 table (`tf1_checkpoint_table`), so the
name mapping is defined once. The bottleneck and head are not in these
checkpoints and keep their initialization.
"""
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import stylizer
from magenta_style.weights.assign import assign_from_table
from magenta_style.weights.names import tf1_checkpoint_table
from magenta_style.weights.run_dir import checkpoint_prefix

BACKBONE_SCOPES = {"full": "InceptionV3/", "mobile": "MobilenetV2/"}


def slim_backbone_table(model_type, alpha):
    """The predictor-backbone rows [(part, layer, kind, [slim names])] of the TF1 table."""
    prefix = BACKBONE_SCOPES[model_type]
    return [row for row in tf1_checkpoint_table(model_type, alpha)
            if row[0] == "predictor" and row[3][0].startswith(prefix)]


def load_slim_backbone_checkpoint(model, path):
    """Fills the Stylizer's predictor backbone from a slim checkpoint (prefix or directory).

    Raises ModelSpecError naming the first missing or mis-shaped tensor.
    """
    prefix = checkpoint_prefix(path) or path
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelSpecError(f"{path}: cannot read checkpoint ({reason})") from None

    def read(name):
        if not reader.has_tensor(name):
            raise ModelSpecError(f"{path}: slim checkpoint lacks {name}")
        return reader.get_tensor(name)

    assign_from_table(
        model, slim_backbone_table(stylizer.model_type_of(model), model.alpha), read)
