"""Are an encoder's ImageNet weights on this computer, downloadable, or out of reach (offline)?

Answered before training starts, in about a second at most, so the Train dialog can say so and
``build_model`` can refuse at once instead of after the hub client's ~25 s of retries. smp ≥ 0.5
downloads encoder weights from the Hugging Face hub (``smp-hub/<encoder>.imagenet``; timm
encoders ``tu-<name>`` from ``timm/<name>.<tag>``), so the hub cache is where cached weights live.

Torch-free on purpose: the GUI imports it on the GUI thread (the window must not import torch).

May import: stdlib only (huggingface_hub.constants if installed, for the cache location).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from segstudio.core.net import url_reachable

CACHED, DOWNLOADABLE, OFFLINE = "cached", "downloadable", "offline"
HUB_HOST, HUB_PORT = "huggingface.co", 443
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class WeightsAvailability:
    state: str              # CACHED | DOWNLOADABLE | OFFLINE
    encoder: str
    path: str | None        # the cached weights file, when CACHED

    @property
    def usable(self) -> bool:
        return self.state != OFFLINE


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder (honours HF_HUB_CACHE / HF_HOME like the hub client)."""
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except Exception:  # noqa: BLE001 - hub client missing or odd: use its documented default
        if os.environ.get("HF_HUB_CACHE"):
            return Path(os.environ["HF_HUB_CACHE"])
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME", os.path.join(Path.home(), ".cache")), "huggingface")
        return Path(home) / "hub"


def _repo_patterns(encoder: str) -> list[str]:
    if encoder.startswith("tu-"):
        name = encoder[3:]
        # "tu-resnet10t" uses timm's default tag; "tu-resnet10t.c3_in1k" names it
        return [f"models--timm--{name}"] if "." in name else [f"models--timm--{name}.*"]
    return [f"models--smp-hub--{encoder}.imagenet"]


def cached_weights(encoder: str, cache: Path | None = None) -> Path | None:
    """The cached ImageNet weights file of ``encoder``, or None."""
    cache = cache or hub_cache_dir()
    if not cache.is_dir():
        return None
    for pattern in _repo_patterns(encoder):
        for repo in sorted(cache.glob(pattern)):
            for snapshot in sorted((repo / "snapshots").glob("*")):
                for name in _WEIGHT_FILES:
                    if (snapshot / name).is_file():
                        return snapshot / name
    return None


def _offline_forced() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def network_reachable(timeout: float = 1.5) -> bool:
    """True when a TCP connection to the hub (its ``HF_ENDPOINT`` mirror, or the proxy) opens within
    ``timeout`` seconds (:func:`segstudio.core.net.url_reachable`)."""
    if _offline_forced():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "")   # a mirror of the hub, when set
    return url_reachable(endpoint if urlparse(endpoint).hostname else f"https://{HUB_HOST}:{HUB_PORT}", timeout)


def weights_availability(encoder: str, timeout: float = 1.5) -> WeightsAvailability:
    """Cached first (no network needed), else whether the hub can be reached now."""
    path = cached_weights(encoder)
    if path is not None:
        return WeightsAvailability(CACHED, encoder, str(path))
    return WeightsAvailability(DOWNLOADABLE if network_reachable(timeout) else OFFLINE, encoder, None)


def describe(av: WeightsAvailability) -> str:
    """One sentence for the Train dialog."""
    if av.state == CACHED:
        return f"ImageNet weights for {av.encoder} are on this computer."
    if av.state == DOWNLOADABLE:
        return f"ImageNet weights for {av.encoder} will be downloaded once (internet is reachable)."
    return (f"ImageNet weights for {av.encoder} are not on this computer and the internet cannot be "
            f"reached: start from random weights, or choose a local weights file.")
