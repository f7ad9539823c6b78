"""Deep-learning side of segstudio: models, safe checkpoints, tiled inference, export, training.

Everything torch lives here. Submodules import torch at module level, so the UI and CLI
import them lazily (inside functions) to keep the window's start-up free of torch; this
package's ``__init__`` itself imports nothing heavy, and ``options`` (the training options
table) and ``weights`` (are ImageNet weights cached?) are torch-free.

May import: torch, segmentation_models_pytorch, safetensors, segstudio.core. No Qt.
"""
