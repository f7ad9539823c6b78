"""The one reachability check (training weights, SAM downloads): true for a listening port,
false for a closed one and for no host, within its timeout."""

from __future__ import annotations

import socket

from segstudio.core.net import tcp_reachable


def test_a_listening_port_is_reachable_and_a_closed_one_is_not() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert tcp_reachable("127.0.0.1", port, timeout=1.0)
    assert not tcp_reachable("127.0.0.1", port, timeout=1.0)   # closed now
    assert not tcp_reachable(None, 443)


def test_a_download_checks_the_proxy_when_one_is_set(monkeypatch) -> None:
    from segstudio.core.net import url_reachable

    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(1)
        port = proxy.getsockname()[1]
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        assert url_reachable("https://example.invalid/model.onnx", timeout=1.0)   # the proxy answers
        monkeypatch.delenv("HTTPS_PROXY")
        monkeypatch.delenv("https_proxy", raising=False)
        assert url_reachable(f"http://127.0.0.1:{port}/x", timeout=1.0)
