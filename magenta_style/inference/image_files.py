"""Stylizing image files into output files: the work behind `magenta-stylize` and the demo.

Reads content and style images with image_io (messy files converted, bad ones
reported with their path and skipped), computes style bottlenecks, identity
interpolation and blends, and writes `<content>_stylized_<style>_<i>.<ext>`
atomically, with a progress line per image.
"""
import functools
import os
import sys
import time

from magenta_style import defaults, image_io
from magenta_style.errors import UsageError
from magenta_style.image_io import load_prepared
from magenta_style.inference import pictures, resize
from magenta_style.progress import Progress

GRID_FILE = defaults.STYLIZED_GRID_FILE


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _thumbnail(array, size=defaults.GRID_CELL_SIZE):
    return resize.shorter_side_lanczos(array, size) if min(array.shape[:2]) > size else array


def _styles(paths, size, square_crop, blend_weights, bottleneck_of, fail):
    """[(name, bottleneck [1, 100], thumbnail)] per readable style image, or one 'blend'."""
    styles = []
    for path in paths:
        try:
            array = load_prepared(path, size, square_crop)
        except image_io.ImageError as error:
            fail(str(error))
            continue
        styles.append((_stem(path), bottleneck_of(array), _thumbnail(array)))
    if blend_weights is None:
        return styles
    if len(styles) != len(paths):
        fail("style blend skipped: not every style image could be read")
        return []
    if len(blend_weights) != len(styles):
        raise UsageError(f"--style_blend_weights has {len(blend_weights)} weights for "
                         f"{len(styles)} style images")
    blended = pictures.style_of([s[1] for s in styles], blend_weights)
    return [("blend", blended, image_io.image_grid([[s[2] for s in styles]]))]


def stylize_images(engine, content_paths, style_paths, output_dir, *, image_size=defaults.STYLIZE_IMAGE_SIZE,
                   style_image_size=defaults.STYLE_IMAGE_SIZE, content_square_crop=False,
                   style_square_crop=False, interpolation_weights=defaults.INTERPOLATION_WEIGHTS,
                   style_blend_weights=None, preserve_colors=False,
                   output_format=defaults.STYLIZE_OUTPUT_FORMAT, overwrite=False, grid=False,
                   tile_size=None, stream=None, errors=None):
    """Stylizes every content image with every style (or their blend) and interpolation weight.

    engine: an inference/engine.Engine (engines.load_engine); tile_size: instead of the
    engine's (content images with more than 4 tile_size^2 pixels are stylized in tiles: exact,
    bounded memory, inference/tiled.py).
    Returns (list of written paths, number of failures). Failures (unreadable
    inputs, existing outputs without `overwrite`) are printed as one line each
    to `errors` (default stderr) and the remaining images are still done;
    progress lines go to `stream` (default stdout).
    """
    stream, errors = stream or sys.stdout, errors or sys.stderr
    failures = 0

    def fail(message):
        nonlocal failures
        failures += 1
        print(f"error: {message}", file=errors, flush=True)

    styles = _styles(style_paths, style_image_size, style_square_crop, style_blend_weights,
                     engine.style_bottleneck, fail)
    ext = "jpg" if output_format == "jpg" else "png"
    written, grid_rows = [], [[None] + [s[2] for s in styles for _ in interpolation_weights]]
    progress = Progress(len(content_paths) * len(styles) * len(interpolation_weights), "images",
                        name="stylize", stream=stream)
    per_content = len(styles) * len(interpolation_weights)
    for content_path in content_paths:
        try:
            # At its own size a photo is stylized whole: bounded (BENCHMARKS.md, "Phone photos").
            content = load_prepared(content_path, image_size, content_square_crop,
                                    max_pixels=None if image_size else min(
                                        defaults.STYLIZE_MAX_PIXELS, image_io.MAX_DECODE_PIXELS))
            if min(content.shape[:2]) < defaults.MIN_CONTENT_SIZE:
                raise image_io.ImageError(content_path, f"image too small ({content.shape[1]}x"
                                          f"{content.shape[0]} pixels)")
        except image_io.ImageError as error:
            fail(str(error))
            progress.total -= per_content
            continue
        row = [_thumbnail(content)]
        identity_of_content = functools.cache(functools.partial(
            engine.identity_bottleneck, content, style_image_size, style_square_crop))
        for style_name, style_bottleneck, _ in styles:
            for index, weight in enumerate(interpolation_weights):
                start = time.perf_counter()
                name = f"{_stem(content_path)}_stylized_{style_name}_{index}.{ext}"
                path = os.path.join(output_dir, name)
                if path in written or (os.path.exists(path) and not overwrite):
                    reason = "written twice in this run (same file names)" if path in written else \
                        "already exists (use --overwrite to replace it)"
                    fail(f"{path}: {reason}")
                    row.append(None)
                    continue
                stylized = pictures.stylize_picture(
                    engine, content, style_bottleneck, strength=weight,
                    preserve_colors=preserve_colors, identity=identity_of_content,
                    tile_size=tile_size, stream=stream)
                try:
                    image_io.save_image(stylized, path, overwrite=overwrite)
                except FileExistsError as error:  # appeared since the check above
                    fail(str(error))
                    row.append(None)
                    continue
                written.append(path)
                row.append(_thumbnail(stylized) if grid else None)
                height, width = stylized.shape[:2]
                progress.advance(f"{name} {width}x{height} in {time.perf_counter() - start:.2f} s")
        grid_rows.append(row)
    if grid and written:
        path = os.path.join(output_dir, GRID_FILE)
        try:
            image_io.save_image(image_io.image_grid(grid_rows), path, overwrite=overwrite)
            written.append(path)
            print(f"wrote {path}", file=stream)
        except FileExistsError as error:
            fail(str(error))
    return written, failures
