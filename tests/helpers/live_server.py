"""A live magenta-stylize-web server in a subprocess, and Debian's Chromium, for the web tests
and benchmarks/web.py."""
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

from tests import ROOT
from tests.helpers.network import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The fake camera; and no way out of loopback, so a page that asks for an outside URL (seen by
# the tests in page.requests) fails the same with or without a network, and Chromium's own
# background requests (updates, safe browsing) never leave the machine.
CHROMIUM_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 "--disable-background-networking",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
START_TIMEOUT_S = 300
READY = "magenta-stylize-web: serving "


@contextlib.contextmanager
def live_server(log_path, args=(), cwd=None, env=None):
    """Runs `python -m magenta_style.cli.web --port=<free> *args`; yields (url, process).
    Stops it with SIGINT (as Ctrl-C does) on exit."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT, **(env or {})}
    with open(log_path, "w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "magenta_style.cli.web", f"--port={free_port()}", *args],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            deadline, url = time.time() + START_TIMEOUT_S, None
            while url is None and time.time() < deadline and process.poll() is None:
                time.sleep(0.5)
                log.seek(0)
                url = next((line[len(READY):].strip() for line in log.read().splitlines()
                            if line.startswith(READY)), None)
            if url is None:
                log.seek(0)
                raise RuntimeError(f"magenta-stylize-web did not start:\n{log.read()[-3000:]}")
            yield url, process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium (Playwright) with the fake camera."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium is missing at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
