"""Is a host reachable? One quick TCP check shared by every "download or not" decision (encoder
weights for training, Segment-Anything models), so offline is known at once instead of after a
download has hung.

May import: stdlib only.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse


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


def url_reachable(url: str, timeout: float = 1.5) -> bool:
    """:func:`tcp_reachable` for the first hop a download of ``url`` takes: the HTTPS proxy when
    one is set (``HTTPS_PROXY`` / ``https_proxy``), else ``url``'s own host."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    u = urlparse(proxy if proxy and "://" in proxy else f"http://{proxy}" if proxy else url)
    return tcp_reachable(u.hostname, u.port or (443 if u.scheme == "https" else 80), timeout)
