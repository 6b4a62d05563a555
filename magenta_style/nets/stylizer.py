"""The arbitrary stylization model: style predictor + style-parameter head + transfer network."""
import keras
import tensorflow as tf

from magenta_style import bottlenecks, defaults
from magenta_style.data.image_ops import resize_shorter_side_bilinear
from magenta_style.nets import predictor, transfer

MODEL_TYPES = {
    # model_type: (style predictor, default width multiplier)
    "full": (predictor.INCEPTION_V3, defaults.FULL_ALPHA),
    "mobile": (predictor.MOBILENET_V2, defaults.MOBILE_ALPHA),
}


@keras.saving.register_keras_serializable(package="magenta_style")
class Stylizer(keras.Model):
    """Stylizes content images with the style of arbitrary style images.

    Sub-models: `style_predictor` (style image -> bottleneck [B, 100]),
    `style_params_head` (bottleneck -> [B, P] with P = 2758 at alpha 1, 694 at
    0.25) and `transfer_network` ((content, params) -> stylized). All images
    are float32 NHWC in [0, 1].

    Calling `model((content, style))` returns the stylized content batch
    [B, H, W, 3], the same size as content.
    """

    def __init__(self, predictor_name=predictor.INCEPTION_V3, alpha=defaults.FULL_ALPHA,
                 bottleneck_dim=defaults.BOTTLENECK_DIM, predictor_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.predictor_name = predictor_name
        self.alpha = float(alpha)
        self.bottleneck_dim = int(bottleneck_dim)
        self.style_predictor = predictor.build_style_predictor(
            predictor_name, weights=predictor_weights, bottleneck_dim=self.bottleneck_dim)
        self.style_params_head = predictor.build_style_params_head(self.alpha, self.bottleneck_dim)
        self.transfer_network = transfer.build_transfer_network(self.alpha)

    @property
    def num_style_params(self):
        return transfer.num_style_params(self.alpha)

    def style_bottleneck(self, style_images, training=False):
        """[B, H, W, 3] in [0, 1] -> style embedding [B, bottleneck_dim]."""
        return self.style_predictor(style_images, training=training)

    def style_params(self, style_bottleneck, training=False):
        """[B, bottleneck_dim] -> flat (beta, gamma) per normalized layer, [B, P]."""
        return self.style_params_head(style_bottleneck, training=training)

    def stylize(self, content_images, style_bottleneck, training=False):
        """Content [B, H, W, 3] in [0, 1] + bottleneck [B, 100] -> stylized [B, H, W, 3] in [0, 1]."""
        params = self.style_params(style_bottleneck, training=training)
        # Keras refuses a mix of numpy arrays and tensors in one call. float32 in, whatever
        # the policy (a float32 tensor cannot be converted to bfloat16): the layers cast it.
        content_images = tf.convert_to_tensor(content_images, dtype_hint=tf.float32)
        return self.transfer_network([content_images, params], training=training)

    def call(self, inputs, training=False):
        content_images, style_images = inputs
        return self.stylize(content_images, self.style_bottleneck(style_images, training=training),
                            training=training)

    def identity_bottleneck(self, content_images, style_image_size=defaults.STYLE_IMAGE_SIZE,
                            square_crop=False):
        """The content's own style (paper Fig. 8): [B, H, W, 3] -> [B, 100].

        The content is prepared as Magenta's `with_weights` tool prepares a style
        image: centrally square-cropped if asked, then its shorter side resized to
        `style_image_size` with the aspect ratio kept (bilinear).
        """
        images = content_images
        if square_crop:
            shape = tf.shape(images)
            side = tf.minimum(shape[1], shape[2])
            top, left = (shape[1] - side) // 2, (shape[2] - side) // 2
            images = images[:, top:top + side, left:left + side]
        return self.style_bottleneck(resize_shorter_side_bilinear(images, style_image_size))

    def identity_interpolation(self, content_images, style_images, weights,
                               style_image_size=defaults.STYLE_IMAGE_SIZE):
        """Stylizes with (1 - w) * identity_bottleneck(content) + w * bottleneck(style) per w.

        Args:
          content_images: [1, H, W, 3]; style_images: [1, h, w, 3]; weights: list of floats.
        Returns:
          [len(weights), H, W, 3]: w = 0 close to the content, w = 1 the full style.
        """
        mixed = interpolate_bottlenecks(
            self.identity_bottleneck(content_images, style_image_size),
            self.style_bottleneck(style_images), weights)  # [N, 100]
        content = tf.repeat(content_images, tf.shape(mixed)[0], axis=0)
        return self.stylize(content, mixed)

    def get_config(self):
        return {**super().get_config(), "predictor_name": self.predictor_name,
                "alpha": self.alpha, "bottleneck_dim": self.bottleneck_dim}


def interpolate_bottlenecks(identity, style, weights):
    """(1 - w) * identity + w * style for each w: [1, 100], [1, 100], N floats -> [N, 100]
    (magenta_style.bottlenecks.interpolate on tensors)."""
    weights = tf.constant(bottlenecks.interpolation_weights(weights))
    return (1.0 - weights) * identity + weights * style


def blend_bottlenecks(style_bottlenecks, weights):
    """Weighted mix of N styles: [N, 100] and N weights (normalized to sum 1) -> [1, 100]
    (magenta_style.bottlenecks.blend on tensors). Raises BlendWeightsError."""
    normalized = tf.constant(bottlenecks.blend_weights(weights, style_bottlenecks.shape[0]))
    return tf.reduce_sum(normalized[:, None] * style_bottlenecks, axis=0, keepdims=True)


def build_stylizer(model_type="full", alpha=None, predictor_weights=None, build_size=64):
    """Builds a Stylizer ('full': Inception-v3, alpha 1; 'mobile': MobileNetV2, alpha 0.25).

    predictor_weights: 'imagenet', a Keras weights file, or None/'random'.
    The model is called once on `build_size` inputs so all weights exist.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {sorted(MODEL_TYPES)}")
    predictor_name, default_alpha = MODEL_TYPES[model_type]
    model = Stylizer(predictor_name, alpha if alpha is not None else default_alpha,
                     predictor_weights=predictor_weights, name=f"stylizer_{model_type}")
    size = max(build_size, defaults.MIN_STYLE_IMAGE_SIZE[model_type])
    model((tf.zeros([1, build_size, build_size, 3]), tf.zeros([1, size, size, 3])))
    return model


def model_type_of(model):
    """'full' or 'mobile' for a Stylizer, by its predictor."""
    return next(name for name, (pred, _) in MODEL_TYPES.items() if pred == model.predictor_name)
