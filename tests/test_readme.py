"""README.md runs: every fenced code block is executed on tiny generated data, or names why not.

How a block is run:
- ```bash / ```sh blocks: each one a `bash -euo pipefail` script, in README order, in one
  shared workspace (cwd) that holds tiny datasets in their real formats
  (tests/helpers/fake_data.py), the photos, paintings, clip and Magenta archive the README
  names, and links to the entry scripts. A command line byte-identical to one an earlier block
  ran in this workspace (README sections repeat the data commands, whose outputs are never
  overwritten) is not run again, as a reader following the README would not: those lines are
  the fixed list REPEATED_COMMANDS, and the script says so where it leaves one out.
- ```python blocks: all in one process (one TensorFlow start), each in a fresh namespace,
  after the shell blocks (they read the records, runs and exports those make).
- ```text blocks (output, trees) are not code. Every other fence needs one of these tags.
- ``` and ~~~ fences are read; an indented code block (which the runner would not see) fails
  the test: fence it.

What changes before a block runs (paths into the workspace, tiny sizes) is in the two tables
below, the same for every block; anything particular to one block is an HTML comment on the
lines just above its fence, invisible on GitHub:
    <!-- readme-test: skip: REASON -->             not run (say why, and what tests it)
    <!-- readme-test: replace: OLD => NEW -->      literal substitution (OLD must occur)
    <!-- readme-test: why: REASON -->              why the replacements are needed
    <!-- readme-test: continues -->                python: runs in the previous block's namespace
A new README section therefore needs no change here, at most a marker next to its block. A
replacement that turns a command into a no-op (`:`) is one of the counted NO_OP_REPLACEMENTS.
"""
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests import ROOT
from tests.helpers import fake_data

README = os.path.join(ROOT, "README.md")
TIMEOUT = 600  # seconds per block (a subprocess must not stall the suite)
BASH = ["bash", "-euo", "pipefail", "-c"]  # how a shell block runs

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
# Every replacement that turns a README command into a no-op, (OLD, NEW) in README order: a
# new one is a command the README shows and nothing runs, so it is added here on purpose.
NO_OP_REPLACEMENTS = [
    ("make demo   # stylizes scikit-image's sample photos into ./demo_output/",
     ": make demo installs packages, see Set up"),
    ("tensorboard --logdir runs", ": tensorboard is a server"),
    ("python evaluate.py --checkpoint=exported ...", ":"),
    ("tensorboard --logdir=runs", ": tensorboard is a server"),
]
# The command lines (whitespace collapsed), in README order, left out because an earlier block
# ran the very same line in the workspace: the "Train your own model" and "Evaluate" sections
# repeat the data commands of "Prepare the data", whose outputs exist by then (the builders
# refuse to overwrite them).
REPEATED_COMMANDS = [
    ("python datasets/build_style_tfrecords.py --source=pbn --input_dir=$RAW/pbn "
     "--output_prefix=$DATA/pbn_train --split=train --holdout_artists --num_shards=64"),
    ("python datasets/build_style_tfrecords.py --source=dtd --input_dir=$RAW/dtd "
     "--output_prefix=$DATA/dtd_train --split=train --dtd_partition=1 --num_shards=4"),
    ("python datasets/build_content_tfrecords.py --input_dir=$RAW/ILSVRC2012/train "
     "--output_dir=$DATA/imagenet --split_name=train --num_shards=1024"),
    ("python datasets/build_style_tfrecords.py --source=pbn --input_dir=$RAW/pbn "
     "--output_prefix=$DATA/pbn_eval1024 --split=test --num_images=1024 --seed=0"),
    ("python datasets/build_content_tfrecords.py --input_dir=$RAW/ILSVRC2012/val "
     "--output_dir=$DATA/imagenet --split_name=validation --num_shards=128"),
]


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


# A fence: 3+ backticks or tildes, then the info string (its first word: the language).
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")
INDENTED = re.compile(r"^( {4}|\t)\s*\S")


def parse_blocks(text):
    """The fenced blocks (``` or ~~~) of a Markdown text, with the readme-test markers above
    each. An indented code block (4+ spaces after a blank line, outside fences; Markdown shows
    it as code) or an unclosed fence is refused: the runner would not see that code."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            after_blank = index == 0 or not lines[index - 1].strip()
            assert not (after_blank and INDENTED.match(lines[index])), (
                f"README.md:{index + 1}: an indented code block, which this test cannot run: "
                "fence it (```bash, sh, python or text)")
            index += 1
            continue
        fence, info = opening.groups()
        language = info.split()[0] if info else ""
        end = index + 1
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        assert end < len(lines), f"README.md:{index + 1}: the {fence} fence is never closed"
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


ASSIGNMENTS = re.compile(r"[A-Z_]+=\S*(\s+[A-Z_]+=\S*)*;?")


def shell_plan(blocks, work):
    """{block line: [(README line, the line as it runs, None or the earlier block that ran
    exactly that line)]} for the shell blocks that run, in README order. Lines compare as they
    run (replacements, workspace paths, tiny flags, comment): byte-identical or not repeated.
    Variable assignments always run."""
    ran, plan = {}, {}
    for block in blocks:
        if block.language not in ("bash", "sh") or block.skip:
            continue
        steps = []
        for line in logical_lines(substituted(block, work)):
            run, earlier = tiny(line), None
            command = split_comment(line)[0].strip()
            if command and not ASSIGNMENTS.fullmatch(command):
                earlier = ran.setdefault(run, block.name)
                earlier = None if earlier == block.name else earlier
            steps.append((line, run, earlier))
        plan[block.line] = steps
    return plan


def repeated_commands(plan):
    """The README command lines (whitespace collapsed) that the plan leaves out, in order."""
    return [" ".join(split_comment(line)[0].split())
            for steps in plan.values() for line, _, earlier in steps if earlier]


def shell_script(steps):
    """A block's bash text; a line an earlier block ran is left out, and says so."""
    return "\n".join(
        ": " + shlex.quote(f"already ran in {earlier}: {split_comment(line)[0].strip()}")
        if earlier else run for line, run, earlier in steps) + "\n"


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
    from tests.helpers import tf1_checkpoint, video_clips  # pylint: disable=import-outside-toplevel
    pan = [np.roll(fake_data.random_image(48, 64, seed=8), 3 * t, axis=1) for t in range(6)]
    video_clips.write_clip(os.path.join(work, "clip.mov"), np.stack(pan), rate=12)
    os.makedirs(os.path.join(work, "ckpt"))
    tf1_checkpoint.write_tf1_checkpoint(os.path.join(work, "ckpt", "vgg_16.ckpt"),
                                        tf1_checkpoint.slim_vgg_arrays("vgg16", 0))
    # The archive's pictures depend on the style (random_stylizer's guard: a fresh full model
    # paints a near-binary picture whatever the style).
    from tests.helpers.models import random_stylizer  # pylint: disable=import-outside-toplevel
    tf1_checkpoint.write_magenta_archive(work, random_stylizer("full", seed=0))
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


def is_no_op(new):
    """A replacement text that runs nothing in place of the command it replaces."""
    return re.fullmatch(r"\s*(:|true|echo|#)(\s.*)?", new) is not None or not new.strip()


def test_no_op_replacements_are_the_counted_ones():
    """A README command replaced by a no-op runs nowhere here: each one is listed, on purpose."""
    no_ops = [(old, new) for block in readme_blocks() for old, new in block.replacements
              if is_no_op(new)]
    assert no_ops == NO_OP_REPLACEMENTS
    assert [is_no_op(new) for new in (":", ": why", "true", "# x", "", "python x", ":x")] == [
        True, True, True, True, True, False, False]


def test_repeated_commands_are_exactly_the_known_ones():
    assert repeated_commands(shell_plan(readme_blocks(), "{work}")) == REPEATED_COMMANDS


def test_only_byte_identical_lines_of_earlier_blocks_are_left_out(tmp_path):
    blocks = parse_blocks("```bash\nX=1\necho \"it's\" > a\necho once  # first\n```\n"
                          "~~~sh\nX=1\necho \"it's\" > a\necho once  # again\nls a\nls a\n~~~\n")
    plan = shell_plan(blocks, str(tmp_path))
    assert [earlier for _, _, earlier in plan[6]] == [None, "README.md:1:bash", None, None, None]
    assert repeated_commands(plan) == ['echo "it\'s" > a']
    script = shell_script(plan[6])
    assert shlex.split(script.splitlines()[1]) == [
        ":", 'already ran in README.md:1:bash: echo "it\'s" > a']  # quoted: bash only sees text
    result = subprocess.run([*BASH, script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and result.stdout == "once\n"  # ls: a was not written again
    # A failing command before a pipe fails the block, as its last command would.
    assert subprocess.run([*BASH, "false | cat"], timeout=60, check=False).returncode == 1


def test_fences_and_refusals():
    """``` and ~~~ fences (the info string's first word is the language, a longer fence holds
    shorter ones); an indented code block or an unclosed fence fails instead of going unseen."""
    blocks = parse_blocks("~~~python title\nx = 1\n~~~\n\n````text\n```\n````\n"
                          "para\n    lazy continuation, not code\n")
    assert [(b.line, b.language, b.code) for b in blocks] == [
        (1, "python", "x = 1\n"), (5, "text", "```\n")]
    with pytest.raises(AssertionError, match="README.md:3: an indented code block"):
        parse_blocks("text\n\n    python train.py\n")
    with pytest.raises(AssertionError, match="README.md:1: an indented code block"):
        parse_blocks("\tpython train.py\n")
    with pytest.raises(AssertionError, match="README.md:2: the ~~~ fence is never closed"):
        parse_blocks("x\n~~~bash\nls\n```\n")


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
def plan(work):
    return shell_plan(readme_blocks(), work)


@pytest.mark.slow
@pytest.mark.parametrize("block", shell_blocks(), ids=lambda block: block.name)
def test_shell_block_runs(block, work, plan):
    if block.skip:
        pytest.skip(block.skip)
    script = shell_script(plan[block.line])
    result = subprocess.run([*BASH, script], cwd=work, env=environment(work),
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
