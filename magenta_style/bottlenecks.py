"""Arithmetic on style bottlenecks (embeddings [N, D]): blends of styles and style strength,
and the layout of the style parameters the head makes of them.

Defined once, in numpy: the engines use these functions as they are, and nets/stylizer.py's
tensor versions take their weights from here (`blend_weights`, `interpolation_weights`) and
apply the same formulas to tensors.

    blended = blend([a, b], [0.7, 0.3])                    # [1, D]: 0.7 a + 0.3 b
    weaker = with_strength(style, 0.5, own_style)         # [1, D]: halfway to the photo's own
"""
import numpy as np

from magenta_style.errors import BlendWeightsError


def blend_weights(weights, count):
    """Blend weights normalized to sum 1: float32 [count]; BlendWeightsError for the wrong
    number of weights or a sum that is not positive."""
    weights = np.asarray(weights, np.float32).reshape(-1)
    if len(weights) != count:
        raise BlendWeightsError(f"{len(weights)} blend weights for {count} styles")
    total = float(np.sum(weights))
    if total <= 0:
        raise BlendWeightsError("style blend weights must sum to a positive number")
    return weights / np.float32(total)


def blend(bottlenecks, weights):
    """Weighted mix of N styles: N bottlenecks (each [1, D] or [D], or one [N, D] array) and
    N weights (normalized to sum 1) -> float32 [1, D]."""
    stacked = np.concatenate([np.reshape(b, (1, -1)) for b in bottlenecks]).astype(np.float32)
    normalized = blend_weights(weights, len(stacked))
    return np.sum(normalized[:, None] * stacked, axis=0, keepdims=True)


def interpolation_weights(weights):
    """Identity interpolation weights as a float32 column [N, 1] (1 = the full style)."""
    return np.asarray(weights, np.float32).reshape(-1, 1)


def interpolate(identity, style, weights):
    """(1 - w) * identity + w * style for each w: [1, D], [1, D], N floats -> [N, D] (numpy
    arrays in, numpy out; nets/stylizer.interpolate_bottlenecks for tensors)."""
    column = interpolation_weights(weights)
    return ((np.float32(1.0) - column) * np.asarray(identity, np.float32)
            + column * np.asarray(style, np.float32))


def split_style_params(style_params, depths, epsilon):
    """The head's style parameters [..., P] (numpy or tensors) -> {scope: (beta, gamma,
    epsilon)} with beta, gamma [..., depth]: [beta_1, gamma_1, beta_2, ...] in the order of
    `depths`, [(scope, depth)] (nets/transfer.style_norm_depths)."""
    norms, offset = {}, 0
    for scope, depth in depths:
        norms[scope] = (style_params[..., offset:offset + depth],
                        style_params[..., offset + depth:offset + 2 * depth], epsilon)
        offset += 2 * depth
    return norms


def with_strength(style, strength, identity):
    """The bottleneck [1, D] for style strength `strength` in [0, 1] (identity interpolation):
    `style` itself at 1, else interpolate(identity(), style, [strength]); `identity` is a
    callable returning the content's own bottleneck, called only when needed."""
    if float(strength) == 1.0:
        return style
    return interpolate(identity(), style, [strength])
