"""segstudio: desktop labelling studio for image segmentation."""
from __future__ import annotations

__version__ = "0.1.0"
