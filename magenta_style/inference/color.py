"""Colour helpers for stylized images."""
import numpy as np

# RGB -> YIQ (NTSC); luminance Y, chroma I and Q.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def preserve_colors(stylized, content):
    """Keeps the content's colours: luminance of `stylized` with the chroma of `content`.

    Args:
      stylized, content: float arrays [..., H, W, 3] in [0, 1] of the same shape.
    Returns:
      float32 [..., H, W, 3] in [0, 1]: YIQ luminance transfer (Gatys et al. 2016).
    """
    stylized = np.asarray(stylized, np.float32)
    content = np.asarray(content, np.float32)
    if stylized.shape != content.shape:
        raise ValueError(f"shapes differ: stylized {stylized.shape}, content {content.shape}")
    yiq = content @ _RGB_TO_YIQ.T
    yiq[..., 0] = stylized @ _RGB_TO_YIQ[0]
    return np.clip(yiq @ _YIQ_TO_RGB.T, 0.0, 1.0)
