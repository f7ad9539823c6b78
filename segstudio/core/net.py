"""Is a host reachable? One quick TCP check shared by every "download or not" decision (encoder
weights for training, Segment-Anything models), so offline is known at once instead of after a
download has hung.

May import: stdlib only.
"""

from __future__ import annotations

import socket
import threading


def tcp_reachable(host: str | None, port: int, timeout: float = 1.5) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    Name resolution has no timeout of its own and can hang for many seconds offline, so the
    attempt runs in a daemon thread that is abandoned when the time is up."""
    if not host:
        return False
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, name="segstudio-net-check", daemon=True)
    thread.start()
    thread.join(timeout + 0.2)
    return bool(result and result[0])
