"""A real HTTP server on 127.0.0.1 for download tests: it serves files, or fails, hangs or cuts
a body short, one planned behaviour per request."""
import http.server
import threading

from magenta_style.weights.download import Retry

SERVE, CUT, HANG = "serve", "cut", "hang"  # ("status", CODE) answers that HTTP status
HANG_LIMIT_S = 30  # a hanging answer ends by itself after this (the client times out first)


def no_wait_retry(tries=3, waits=None):
    """A Retry that records its waits in `waits` instead of sleeping (the backoff's schedule
    is still computed and checked)."""
    waits = [] if waits is None else waits
    return Retry(tries=tries, backoff_s=0.5, sleep=waits.append)


class LoopbackServer:
    """`files` maps URL paths to bytes; `plan` lists what the next requests get (SERVE when it
    runs out): SERVE, CUT (half the body after announcing all of it), HANG (headers never
    come), ("status", CODE). Paths not in `files` answer 404. `requests` counts them."""

    def __init__(self, files=None):
        self.files, self.plan, self.requests = dict(files or {}), [], 0
        self.released = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests += 1
                action = server.plan.pop(0) if server.plan else SERVE
                if action == HANG:
                    server.released.wait(HANG_LIMIT_S)
                    return
                if isinstance(action, tuple):
                    self.send_error(action[1])
                    return
                if self.path not in server.files:
                    self.send_error(404)
                    return
                body = server.files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if action == CUT else body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return self.base + path

    def close(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
