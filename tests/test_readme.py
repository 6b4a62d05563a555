"""README.md runs: every fenced code block is executed on tiny generated data, or names why not.

How a block is run:
- ```bash / ```sh blocks: each one a `bash -eu` script, in README order, in one shared
  workspace (cwd) that holds tiny datasets in their real formats (tests/fake_data.py), the
  photos, paintings, clip and Magenta archive the README names, and links to the entry
  scripts. A command that already ran in an earlier block (README sections repeat the data
  commands) is not run again, as a reader following the README would not.
- ```python blocks: all in one process (one TensorFlow start), each in a fresh namespace,
  after the shell blocks (they read the records, runs and exports those make).
- ```text blocks (output, trees) are not code. Every other fence needs one of these tags.

What changes before a block runs (paths into the workspace, tiny sizes) is in the two tables
below, the same for every block; anything particular to one block is an HTML comment on the
lines just above its fence, invisible on GitHub:
    <!-- readme-test: skip: REASON -->             not run (say why, and what tests it)
    <!-- readme-test: replace: OLD => NEW -->      literal substitution (OLD must occur)
    <!-- readme-test: why: REASON -->              why the replacements are needed
    <!-- readme-test: continues -->                python: runs in the previous block's namespace
A new README section therefore needs no change here, at most a marker next to its block.
"""
import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests import ROOT, fake_data

README = os.path.join(ROOT, "README.md")
TIMEOUT = 600  # seconds per block (a subprocess must not stall the suite)

# Paths the README uses, moved into the workspace ({work}); applied to every block, one pass.
PATHS = {
    "/data/raw": "{work}/raw",
    "/data/records": "{work}/records",
    "/tmp/": "{work}/tmp/",
    "/ckpt/": "{work}/ckpt/",
    "/photos/": "{work}/photos/",
}
# Flag values that make each command tiny: (command pattern, flag, value, when).
# "always": appended to the command (absl takes the last value); "unset": appended only when
# none of the flag's spellings (the names after the first, |-separated) is on the command line.
FLAG_RULES = [
    (r"datasets/build_\w+\.py", "num_workers", "1", "always"),
    (r"datasets/build_\w+\.py", "num_shards", "2", "always"),
    (r"datasets/build_style_tfrecords\.py.*--num_images=", "num_images", "2", "always"),
    (r"datasets/sample_images\.py", "num_crops", "4", "always"),
    (r"datasets/sample_images\.py", "crop_size", "32", "always"),
    (r"\btrain\.py", "train_steps", "2", "always"),
    (r"\btrain\.py", "image_size", "32", "always"),
    (r"\btrain\.py", "batch_size", "2", "always"),
    (r"\btrain\.py.*--num_train_styles=", "num_train_styles", "2", "always"),
    # One style size (the content's): a random one per step is a new trace per step.
    (r"\btrain\.py", "norandom_style_image_size", None, "always"),
    # Inception-v3 (the full model, a full teacher) needs styles of at least 75 px.
    (r"\btrain\.py(?!.*--model_type=mobile)|\btrain\.py.*--distill_from", "image_size", "80",
     "always"),
    # Keras' ImageNet weights are downloads: random ones offline (the losses mean nothing,
    # which this test does not look at; tests/training/test_learning.py does).
    (r"\btrain\.py", "vgg_weights|vgg_checkpoint", "random", "unset"),
    (r"\btrain\.py", "predictor_weights|inception_v3_checkpoint", "random", "unset"),
    (r"\bevaluate\.py", "vgg_weights|vgg_checkpoint", "random", "unset"),
    (r"\bevaluate\.py", "num_evaluation_styles", "2", "always"),
    (r"\bevaluate\.py", "allow_fewer", None, "always"),
    (r"\bevaluate\.py", "num_content_images", "1", "always"),
    (r"\bevaluate\.py", "batch_size", "2", "always"),
    # 80: a full model's Inception-v3 needs styles of >= 75 px (evaluate.py refuses fewer).
    (r"\bevaluate\.py", "image_size", "80", "always"),
    (r"\bexport\.py", "num_calibration_images", "2", "always"),
    (r"benchmarks/training_figures\.py", "image_size", "32", "always"),
    (r"\bmagenta-stylize(-video)?\b", "style_image_size", "64", "always"),
]
COMMENT = re.compile(r"\s+#")


@dataclasses.dataclass
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip: str = None
    why: str = None
    continues: bool = False
    replacements: list = dataclasses.field(default_factory=list)

    @property
    def name(self):
        return f"README.md:{self.line}:{self.language}"


def parse_blocks(text):
    """The fenced blocks of a Markdown text, with the readme-test markers above each."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = re.match(r"^(\s*)```(\S*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        indent, language = opening.groups()
        end = index + 1
        while not re.match(rf"^{indent}```\s*$", lines[end]):
            end += 1
        block = Block(index + 1, language, textwrap.dedent("\n".join(lines[index + 1:end])) + "\n")
        above = index - 1
        while above >= 0 and lines[above].strip().startswith("<!-- readme-test:"):
            marker = re.match(r"<!-- readme-test: (\w+)(?::\s*(.*?))?\s*-->$", lines[above].strip())
            assert marker, f"README.md:{above + 1}: malformed marker {lines[above]!r}"
            kind, value = marker.groups()
            if kind == "replace":
                old, new = value.split(" => ", 1)
                block.replacements.insert(0, (old, new))
            elif kind in ("skip", "why"):
                setattr(block, kind, value)
            elif kind == "continues":
                block.continues = True
            else:
                raise AssertionError(f"README.md:{above + 1}: unknown marker {kind!r}")
            above -= 1
        blocks.append(block)
        index = end + 1
    return blocks


def readme_blocks():
    with open(README, encoding="utf-8") as stream:
        return parse_blocks(stream.read())


def substituted(block, work):
    """The block's code with its own replacements, then the workspace paths."""
    code = block.code
    for old, new in block.replacements:
        assert old in code, f"{block.name}: replacement {old!r} matches nothing"
        code = code.replace(old, new)
    pattern = re.compile(r"(?<![\w.$/])(" + "|".join(re.escape(path) for path in PATHS) + ")")
    return pattern.sub(lambda match: PATHS[match.group(1)].format(work=work), code)


def logical_lines(code):
    """Shell lines with their backslash continuations joined."""
    return code.replace("\\\n", " ").splitlines()


def split_comment(line):
    """(command, ' # comment') at the first unquoted ' #'."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip(), " " + line[position:]
    return line, ""


def tiny(line):
    command, comment = split_comment(line)
    for pattern, flag, value, when in FLAG_RULES:
        if not re.search(pattern, command):
            continue
        names = flag.split("|")
        if when == "unset" and any(re.search(rf"--{name}\b", command) for name in names):
            continue
        command += f" --{names[0]}" + ("" if value is None else f"={value}")
    return command + comment


def shell_script(block, work, already_ran):
    """The bash text of a block: tiny flags, commands run by an earlier block left out."""
    lines = []
    for line in logical_lines(substituted(block, work)):
        command = split_comment(line)[0].strip()
        if command and not re.fullmatch(r"[A-Z_]+=\S*(\s+[A-Z_]+=\S*)*;?", command):
            if command in already_ran:
                lines.append(f": already ran above: {command[:60]}")
                continue
            already_ran.add(command)
        lines.append(tiny(line))
    return "\n".join(lines) + "\n"


def environment(work):
    env = dict(os.environ, PYTHONPATH=ROOT, RAW=os.path.join(work, "raw"),
               DATA=os.path.join(work, "records"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               MAGENTA_STYLE_CACHE=os.path.join(work, "cache"),
               TFDS_DATA_DIR=os.path.join(work, "tensorflow_datasets"),
               HOME=os.path.join(work, "home"), KERAS_HOME=os.path.join(work, "home", ".keras"),
               XDG_CACHE_HOME=os.path.join(work, "home", ".cache"), MPLBACKEND="Agg",
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user runs it: the tools keep TF's notices quiet
    return env


def _save(path, array):
    from PIL import Image  # pylint: disable=import-outside-toplevel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The workspace: everything the README's commands name, tiny, in the real formats."""
    work = str(tmp_path_factory.mktemp("readme"))
    for name in ("train.py", "evaluate.py", "export.py", "datasets", "benchmarks"):
        os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
    for folder in ("docs", "home", "tmp"):
        os.makedirs(os.path.join(work, folder))
    for path, seed in [("photo.jpg", 1), ("painting.jpg", 2), ("style.jpg", 3),
                       ("photos/a.jpg", 4), ("photos/b.jpg", 5),
                       ("paintings/starry.jpg", 6), ("paintings/wheat.png", 7)]:
        _save(os.path.join(work, path), fake_data.random_image(48, 64, seed=seed))
    fake_data.make_image_folder(os.path.join(work, "my_paintings"),
                                classes=("cubism", "fauvism"), per_class=2, size=40)
    raw = os.path.join(work, "raw")
    fake_data.make_pbn(os.path.join(raw, "pbn"))
    fake_data.make_dtd(raw)
    for split in ("train", "val"):
        fake_data.make_image_folder(os.path.join(raw, "ILSVRC2012", split), size=48)
    from tests import video_clips, tf1_checkpoint  # pylint: disable=import-outside-toplevel
    pan = [np.roll(fake_data.random_image(48, 64, seed=8), 3 * t, axis=1) for t in range(6)]
    video_clips.write_clip(os.path.join(work, "clip.mov"), np.stack(pan), rate=12)
    os.makedirs(os.path.join(work, "ckpt"))
    vgg = {name: value * np.sqrt(2.0 / (9 * value.shape[2])) if value.ndim == 4 else 0 * value
           for name, value in tf1_checkpoint.slim_vgg_arrays("vgg16", 0).items()}  # He scale
    tf1_checkpoint.write_tf1_checkpoint(os.path.join(work, "ckpt", "vgg_16.ckpt"), vgg)
    from magenta_style.nets import stylizer  # pylint: disable=import-outside-toplevel
    tf1_checkpoint.write_magenta_archive(work, stylizer.build_stylizer("full"))
    return work


def shell_blocks():
    return [block for block in readme_blocks() if block.language in ("bash", "sh")]


def python_blocks():
    return [block for block in readme_blocks() if block.language == "python"]


def test_every_block_is_code_or_text_and_every_skip_says_why():
    blocks = readme_blocks()
    assert len(blocks) > 20
    for block in blocks:
        assert block.language in ("bash", "sh", "python", "text"), (
            f"{block.name}: tag the fence bash, sh, python or text")
        assert block.skip is None or len(block.skip) > 20, f"{block.name}: say why it is skipped"
        for old, _ in block.replacements:
            assert old in block.code, f"{block.name}: replacement {old!r} matches nothing"
    assert sum(block.skip is None for block in blocks if block.language != "text") >= 20


def test_marker_parsing_and_tiny_flags():
    """The runner itself: markers bind to the next fence; flags go before comments."""
    blocks = parse_blocks("<!-- readme-test: replace: a b => c -->\n<!-- readme-test: why: w -->\n"
                          "  ```bash\n  python train.py --model_type=mobile \\\n    --batch_size=8"
                          "  # note 'a'\n  ```\n\n```text\nout\n```\n")
    assert [(b.line, b.language, b.replacements, b.why) for b in blocks] == [
        (3, "bash", [("a b", "c")], "w"), (8, "text", [], None)]
    (line,) = logical_lines(blocks[0].code)
    assert tiny(line).split() == ("python train.py --model_type=mobile --batch_size=8 "
                                  "--train_steps=2 --image_size=32 --batch_size=2 "
                                  "--norandom_style_image_size --vgg_weights=random "
                                  "--predictor_weights=random # note 'a'").split()
    assert "=random" not in tiny("python train.py --vgg_checkpoint=v --inception_v3_checkpoint=i")


def test_readme_names_only_files_that_exist_and_cites_no_internal_documents():
    with open(README, encoding="utf-8") as stream:
        text = stream.read()
    assert not re.findall(r"\bSPEC\b|[Ii]ssue #\d+", text)
    magenta_scripts = {"arbitrary_image_stylization_evaluate.py", "export_hub.py"}  # Magenta's
    missing = []
    for path in sorted(set(re.findall(r"`([\w./-]*\.py)\b", text)) - magenta_scripts):
        candidates = [os.path.join(ROOT, path), os.path.join(ROOT, "magenta_style", path),
                      os.path.join(ROOT, "tests", path)]
        if "/" not in path:  # a bare file name, e.g. in a table of tests
            candidates += [os.path.join(folder, path) for folder, _, _ in os.walk(ROOT)
                           if "/." not in folder]
        if not any(os.path.isfile(candidate) for candidate in candidates):
            missing.append(path)
    assert not missing, f"README.md names files that do not exist: {missing}"


@pytest.fixture(scope="module")
def already_ran():
    return set()


@pytest.mark.slow
@pytest.mark.parametrize("block", shell_blocks(), ids=lambda block: block.name)
def test_shell_block_runs(block, work, already_ran):
    if block.skip:
        pytest.skip(block.skip)
    script = shell_script(block, work, already_ran)
    result = subprocess.run(["bash", "-eu", "-c", script], cwd=work, env=environment(work),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (f"{block.name} failed (exit {result.returncode}):\n{script}\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    assert "Traceback" not in result.stderr, result.stderr[-6000:]


PYTHON_RUNNER = """
import json, sys, traceback
blocks = json.load(open(sys.argv[1]))
results, namespace = [], {}
for block in blocks:
    if not block["continues"]:
        namespace = {"__name__": "__main__"}
    try:
        exec(compile(block["code"], block["name"], "exec"), namespace)
        results.append(None)
    except BaseException:  # pylint: disable=broad-except
        results.append(traceback.format_exc())
    print("ran", block["name"], flush=True)
json.dump(results, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def python_results(work):
    """{block name: None or its traceback}: every python block, in one process."""
    blocks = [block for block in python_blocks() if not block.skip]
    payload = [{"name": block.name, "continues": block.continues,
                "code": substituted(block, work)} for block in blocks]
    inputs, outputs = os.path.join(work, "python_blocks.json"), os.path.join(work, "results.json")
    with open(inputs, "w", encoding="utf-8") as stream:
        json.dump(payload, stream)
    result = subprocess.run([sys.executable, "-c", PYTHON_RUNNER, inputs, outputs], cwd=work,
                            env=environment(work), capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-6000:]
    with open(outputs, encoding="utf-8") as stream:
        return dict(zip([block.name for block in blocks], json.load(stream)))


@pytest.mark.slow
@pytest.mark.parametrize("block", python_blocks(), ids=lambda block: block.name)
def test_python_block_runs(block, python_results):
    if block.skip:
        pytest.skip(block.skip)
    assert python_results[block.name] is None, f"{block.name}:\n{python_results[block.name]}"
