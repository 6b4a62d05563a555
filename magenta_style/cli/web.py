r"""Stylize in a web page: `magenta-stylize-web` / `python -m magenta_style.cli.web` / `make web`.

  magenta-stylize-web --model=pretrained:mobile --styles_dir=my_paintings [--engine=tf]

Serves a page (Gradio) with a Stylize tab (photo, gallery or uploaded style, strength, a
second style, colours, full resolution), a live webcam tab and a video tab, each also an
API endpoint. Listens on 127.0.0.1 unless --host says otherwise; any other host needs
--username and --password. Prints its URL when ready.
"""
from absl import flags

from magenta_style import defaults
from magenta_style.cli import common_flags, runner
from magenta_style.errors import UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("host", defaults.WEB_HOST,
                    "Address to listen on; anything but a loopback address needs --username "
                    "and --password.")
flags.DEFINE_integer("port", defaults.WEB_PORT, "Port to listen on.", lower_bound=1,
                     upper_bound=65535)
flags.DEFINE_string("styles_dir", None,
                    "A folder whose images join the gallery, named by their file names.")
flags.DEFINE_string("username", None, "Login name (required off loopback).")
flags.DEFINE_string("password", None, "Login password (required off loopback).")
common_flags.define_engine_flags()


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from magenta_style.web.app import serve

    serve(FLAGS.model, host=FLAGS.host, port=FLAGS.port, styles_dir=FLAGS.styles_dir,
          username=FLAGS.username, password=FLAGS.password, engine=FLAGS.engine,
          precision=FLAGS.precision, tile_size=FLAGS.tile_size)
    return 0


def run():
    """Console-script entry point (`magenta-stylize-web`)."""
    runner.run(main)


if __name__ == "__main__":
    run()
