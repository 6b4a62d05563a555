"""Loopback ports for tests that start servers or TF cluster workers."""
import socket


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
