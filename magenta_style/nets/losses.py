"""Content, style and total-variation losses, exactly as the reference (SPEC 2).

All functions take float32 tensors and return `(total, dict)` with the
reference's key names, so every term can be logged.
"""
import json

import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import MagentaStyleError
from magenta_style.nets import vgg


class LayerWeightsError(MagentaStyleError, ValueError):
    """A loss-weights dict (or its JSON text) that names no or unknown VGG endpoints."""


def parse_layer_weights(value, flag, network=None):
    """JSON text like '{"vgg_16/conv3": 1}' (or a dict) -> {endpoint: float}, validated
    against `network`'s endpoints (any loss network's when None).

    `flag` names the option in the one-line LayerWeightsError (`--content_weights: ...`).
    """
    if not isinstance(value, dict):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise LayerWeightsError(f"--{flag}: not valid JSON ({error.msg}): {value!r}") from None
    try:
        return validate_layer_weights(value, flag.replace("_weights", ""), network)
    except ValueError as error:
        raise LayerWeightsError(f"--{flag}: {error}") from None


def validate_layer_weights(weights, kind, network=None):
    """Checks a JSON-style weights dict like {"vgg_16/conv3": 1.0} against `network`'s
    endpoints (any loss network's when None); returns it as floats."""
    if not isinstance(weights, dict) or not weights:
        raise ValueError(f"{kind} weights must be a non-empty dict like {{\"vgg_16/conv3\": 1}}, "
                         f"got {weights!r}")
    networks = [network] if network else list(vgg.NETWORKS)
    known = [name for each in networks for name in vgg.endpoints(each)]
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} layer(s) {', '.join(unknown)}; "
                         f"known {'/'.join(networks)} endpoints: {', '.join(known)}")
    return {name: float(value) for name, value in weights.items()}


def default_layer_weights(network=defaults.LOSS_NETWORK, use="train"):
    """(content weights, style weights) of `network` for use 'train' or 'eval', as new dicts."""
    vgg.scope_of(network)  # ValueError for an unknown network
    return tuple(dict(weights) for weights in defaults.LAYER_WEIGHTS[network][use])


def gram_matrix(features):
    """[B, H, W, C] -> [B, C, C], G = F^T F / (H * W)."""
    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(shape[1] * shape[2], features.dtype)


def content_loss(content_endpoints, stylized_endpoints, content_weights):
    """Sum over layers of w_l * mean((phi_l(content) - phi_l(stylized))^2)."""
    total, terms = 0.0, {}
    for layer, weight in validate_layer_weights(content_weights, "content").items():
        loss = tf.reduce_mean(tf.square(content_endpoints[layer] - stylized_endpoints[layer]))
        terms[f"content_loss/{layer}"] = loss
        terms[f"weighted_content_loss/{layer}"] = weight * loss
        total += weight * loss
    return total, terms


def style_loss(style_endpoints, stylized_endpoints, style_weights, style_grams=None):
    """Sum over layers of w_l * mean((G_l(stylized) - G_l(style))^2).

    style_grams: optional precomputed {layer: gram} of the style images.
    """
    total, terms = 0.0, {}
    for layer, weight in validate_layer_weights(style_weights, "style").items():
        target = style_grams[layer] if style_grams is not None else gram_matrix(style_endpoints[layer])
        loss = tf.reduce_mean(tf.square(gram_matrix(stylized_endpoints[layer]) - target))
        terms[f"style_loss/{layer}"] = loss
        terms[f"weighted_style_loss/{layer}"] = weight * loss
        total += weight * loss
    return total, terms


def total_variation_loss(images, weight):
    """TV of [B, H, W, C] images, normalized per direction and batch (SPEC 2).

    Returns (weighted loss, {total_variation_loss, weighted_total_variation_loss}).
    """
    shape = tf.shape(images)
    batch, height, width, channels = (tf.cast(shape[i], images.dtype) for i in range(4))
    y_tv = tf.nn.l2_loss(images[:, 1:, :, :] - images[:, :-1, :, :]) / ((height - 1) * width * channels)
    x_tv = tf.nn.l2_loss(images[:, :, 1:, :] - images[:, :, :-1, :]) / (height * (width - 1) * channels)
    loss = (y_tv + x_tv) / batch
    return weight * loss, {"total_variation_loss": loss, "weighted_total_variation_loss": weight * loss}


def total_loss(content_images, style_images, stylized_images, loss_network,
               content_weights=None, style_weights=None,
               total_variation_weight=defaults.TRAIN_TOTAL_VARIATION_WEIGHT):
    """The reference's total loss of a stylized batch.

    Args:
      content_images, style_images, stylized_images: float32 [B, H, W, 3] in
        [0, 1] (style images may have another size).
      loss_network: `vgg.build_vgg(...)` model.
      content_weights, style_weights: JSON-style dicts; the loss network's training
        defaults if None.
    Returns:
      (total_loss scalar, dict with total_loss, total_content_loss,
       content_loss/<l>, weighted_content_loss/<l>, total_style_loss,
       style_loss/<l>, weighted_style_loss/<l>, total_variation_loss,
       weighted_total_variation_loss).
    """
    default_content, default_style = default_layer_weights(vgg.network_of(loss_network))
    content_weights = content_weights or default_content
    style_weights = style_weights or default_style
    stylized_endpoints = loss_network(stylized_images)
    content_endpoints = loss_network(content_images)
    style_endpoints = loss_network(style_images)
    return combine_losses(content_endpoints, style_endpoints, stylized_endpoints, stylized_images,
                          content_weights, style_weights, total_variation_weight)


def combine_losses(content_endpoints, style_endpoints, stylized_endpoints, stylized_images,
                   content_weights, style_weights, total_variation_weight, style_grams=None):
    """Total loss from already computed VGG endpoints (lets callers reuse features)."""
    total_content, content_terms = content_loss(content_endpoints, stylized_endpoints, content_weights)
    total_style, style_terms = style_loss(style_endpoints, stylized_endpoints, style_weights,
                                          style_grams=style_grams)
    weighted_tv, tv_terms = total_variation_loss(stylized_images, total_variation_weight)
    total = total_content + total_style + weighted_tv
    terms = {"total_loss": total, "total_content_loss": total_content,
             "total_style_loss": total_style, **content_terms, **style_terms, **tv_terms}
    return total, terms
