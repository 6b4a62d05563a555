"""`export(model, output_dir, formats)`: every format staged, verified, then moved into place."""
import contextlib
import os
import shutil
import tempfile

import tensorflow as tf

from magenta_style import defaults, image_io
from magenta_style.errors import (
    ExportError,
    OutputExistsError,
    OutputWriteError,
    UsageError,
    write_failure_reason,
)
from magenta_style.export.calibration import calibration_images
from magenta_style.export.saved_model import SAVED_MODEL_DIR, save_saved_model
from magenta_style.export.tflite import TFLITE_VARIANTS, tflite_filenames, tflite_pair
from magenta_style.inference.tflite_graphs import write_tflite_source
from magenta_style.export.verify import (
    _write_verification,
    format_table,
    verification_inputs,
    verify,
)
from magenta_style.progress import Progress


def parse_formats(formats):
    """'saved_model,tflite_int8' or a list -> tuple in canonical order. Raises ValueError."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in defaults.EXPORT_FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown export format(s) {', '.join(unknown) or '(none given)'}; "
                         f"expected a comma list of {', '.join(defaults.EXPORT_FORMATS)}")
    return tuple(f for f in defaults.EXPORT_FORMATS if f in formats)


@contextlib.contextmanager
def _staging_dir(output_dir, overwrite):
    """Yields an empty folder beside output_dir; renames it into place on success."""
    output_dir = os.path.abspath(output_dir)
    if os.path.exists(output_dir) and not overwrite:
        raise OutputExistsError(f"{output_dir}: already exists (use --overwrite to replace it)")
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
    os.chmod(staging, 0o777 & ~image_io.current_umask())  # mkdtemp's 0700 would otherwise stick to the output
    try:
        try:
            yield staging
        # Disk full, file size limit, permission; OutputWriteError: a file written atomically.
        except (OSError, tf.errors.OpError, OutputWriteError) as error:
            kept = "; the existing one is unchanged" if os.path.exists(output_dir) else ""
            reason = write_failure_reason(error)
            raise ExportError(f"{output_dir}: could not write the export ({reason}); nothing "
                              f"written there{kept}") from None
        if os.path.exists(output_dir):
            if not overwrite:
                raise OutputExistsError(f"{output_dir}: appeared while exporting; nothing replaced")
            previous = tempfile.mkdtemp(prefix=".old-export-", dir=parent)
            os.replace(output_dir, os.path.join(previous, "old"))
            os.replace(staging, output_dir)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export(model, output_dir, formats=defaults.EXPORT_FORMATS,
           style_image_size=defaults.STYLE_IMAGE_SIZE,
           content_image_size=defaults.EXPORT_CONTENT_IMAGE_SIZE,
           representative_style_images=None, representative_content_images=None,
           num_calibration_images=defaults.NUM_CALIBRATION_IMAGES, overwrite=False,
           num_threads=defaults.EXPORT_NUM_THREADS, tolerances=None, log=print):
    """Exports `model` (a Stylizer) in `formats` to `output_dir`, verified.

    Args:
      formats: names from defaults.EXPORT_FORMATS.
      style_image_size: S of the TFLite predict input [1, S, S, 3].
      content_image_size: C of the TFLite transfer input; 0 = resizable.
      representative_*_images: int8 calibration sources (see
        load_representative_images); None = the built-in set.
      overwrite: replace an existing output_dir (else FileExistsError).
    Returns:
      [Check] verification rows (also written to verification.txt, with
      verification.png showing every format's output).
    Raises:
      ExportError: a format misses its tolerance; nothing is written then.
    """
    formats = parse_formats(formats)
    if style_image_size < 32:
        raise UsageError(f"style_image_size must be >= 32, got {style_image_size}")
    if content_image_size and content_image_size < 8:
        raise UsageError(f"content_image_size must be 0 (resizable) or >= 8, got {content_image_size}")
    tolerances = tolerances or defaults.EXPORT_TOLERANCES
    tflite_formats = [f for f in formats if f in TFLITE_VARIANTS]
    check_size = content_image_size or defaults.RELEASED_CONTENT_IMAGE_SIZE
    calibration = None
    if "tflite_int8" in formats:
        calibration = calibration_images(representative_style_images, representative_content_images,
                                         num_calibration_images, style_image_size, check_size)
    progress = Progress(len(formats) + (1 if tflite_formats else 0) + 1, "steps", name="export",
                        log=log)
    with _staging_dir(output_dir, overwrite) as staging, \
            tempfile.TemporaryDirectory(prefix="magenta-style-tflite-source-") as source:
        if "saved_model" in formats:
            with progress.timed("saved_model"):
                save_saved_model(model, os.path.join(staging, SAVED_MODEL_DIR))
        if tflite_formats:
            with progress.timed("TFLite source graph"):
                write_tflite_source(model, source, style_image_size, content_image_size)
        for export_format in tflite_formats:
            with progress.timed(export_format):
                pair = tflite_pair(model, source, export_format, calibration)
                for name, model_bytes in zip(tflite_filenames(export_format), pair):
                    with open(os.path.join(staging, name), "wb") as f:
                        f.write(model_bytes)
        with progress.timed("verification"):
            content, style = verification_inputs(style_image_size, check_size)
            reference = model((tf.constant(content), tf.constant(style))).numpy()
            checks = verify(staging, formats, reference, content, style, num_threads, tolerances)
        log(format_table(checks, num_threads))
        failed = [c.export_format for c in checks if not c.ok]
        if failed:
            raise ExportError(f"{', '.join(failed)} outside tolerance; nothing written to "
                              f"{output_dir}", checks)
        _write_verification(staging, checks, content, style, reference, num_threads)
    return checks
