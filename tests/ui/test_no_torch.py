"""Opening the window must not import torch (it costs seconds and GBs); ml is loaded lazily."""

from __future__ import annotations

import subprocess
import sys


def test_main_window_import_does_not_import_torch():
    code = ("import sys, segstudio.ui.main_window, segstudio.ui.app; "
            "bad = sorted(m for m in ('torch', 'segmentation_models_pytorch', 'torchvision') if m in sys.modules); "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, f"torch imported by the GUI modules: {proc.stdout} {proc.stderr[-2000:]}"
