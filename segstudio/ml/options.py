"""The training options, declared once: :class:`TrainOptions` is the table (one field a row, with
its default, range, choices, label and help), from which the Train dialog's form, the arguments
of ``segstudio train`` and :class:`TrainConfig` are all made.

Adding a training option is one row here (``name: type = option(default, label=..., help=...)``)
plus the code that uses it; the dialog and the CLI pick it up, and
``tests/ui/test_train_options.py`` checks that both offer it with the same default.

Row metadata (:func:`option`): ``group`` (the dialog's box: Model, Data, Optimisation, Advanced;
Model options come from the current model when continuing from it), ``min``/``max``/``step``/
``decimals``, ``choices`` (values, or ``(value, text)`` pairs), ``catalogue`` (the choices are
listed by segmentation-models-pytorch: :func:`architectures`, :func:`encoders`), ``editable``
(the choices are suggestions), ``flag`` (the CLI flag when not ``--name-with-dashes``), ``kind``
(when the default is None), ``none_text`` (what None means), ``check`` (``(on, off)`` values
shown as one check box), ``parse`` (text → value for the CLI) and ``widget`` (a form the dialog
builds by hand).

Importable without torch (the window imports it at start): segmentation-models-pytorch is
imported only inside :func:`architectures` / :func:`encoders`, when the dialog opens (in a
worker) or ``segstudio train`` checks ``--arch`` / ``--encoder``.

May import: stdlib only (the CLI builds its parser from it at every start); segmentation_models_pytorch
lazily.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GROUPS = ("Model", "Data", "Optimisation", "Advanced")
#: losses the dialog suggests (any ``+`` combination of segstudio.ml.losses.LOSSES works too)
LOSS_CHOICES = ("ce+dice", "ce", "dice", "focal", "focal+dice", "lovasz", "ce+lovasz", "tversky")
SCHEDULES = ("cosine", "onecycle", "constant")
#: augmentation names → strength in [0, 1] (segstudio.ml.augment scales its transforms by it)
AUGMENT_STRENGTHS = {"none": 0.0, "light": 0.35, "medium": 0.65, "strong": 1.0}
DEVICES = (("auto", "Automatic (CUDA, MPS, CPU)"), ("cuda", "CUDA GPU"), ("mps", "Apple MPS"), ("cpu", "CPU"))
#: spellings people use for smp class names that lower-casing alone does not give
_ARCH_SPELLINGS = {"unet++": "UnetPlusPlus", "deeplabv3+": "DeepLabV3Plus"}


def option(default: Any, *, label: str, help: str, group: str, **meta: Any) -> Any:
    """A TrainOptions field: its default and the metadata listed in the module docstring."""
    if group not in GROUPS:
        raise ValueError(f"unknown option group {group!r}")
    return field(default=default, metadata={"label": label, "help": help, "group": group, **meta})


# -- parsers (CLI text → value) -----------------------------------------------------------------
def _weights(text: str) -> str | None:
    return None if text.strip().lower() in ("none", "") else text.strip()


def _augment(text: str) -> str | float:
    if text in AUGMENT_STRENGTHS:
        return text
    try:
        strength = float(text)
    except ValueError:
        raise ValueError(f"{text!r}: choose {', '.join(AUGMENT_STRENGTHS)} or a strength 0..1") from None
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"{text!r}: a strength must be between 0 and 1")
    return strength


def _channels(text: str) -> tuple[int, ...] | None:
    parts = [c.strip() for c in text.replace(" ", "").split(",") if c.strip()]
    if not parts:
        return None
    if not all(c.isdigit() and int(c) > 0 for c in parts):
        raise ValueError(f"{text!r}: comma-separated positive widths, e.g. 64,32,16")
    return tuple(int(c) for c in parts)


@dataclass(frozen=True)
class TrainOptions:
    """What a person chooses for a training run; every field is one option (see module docstring)."""

    # -- the network (taken from the current model when continuing from it) -----------------------
    arch: str = option("Unet", label="Architecture", group="Model", catalogue="architectures",
                       help="network architecture: a segmentation-models-pytorch class (Unet, FPN, "
                            "DeepLabV3Plus, Segformer, DPT, …)")
    encoder: str = option("resnet34", label="Encoder", group="Model", catalogue="encoders", editable=True,
                          help="encoder (backbone): a segmentation-models-pytorch encoder name or "
                               "tu-<timm model>")
    encoder_weights: str | None = option(
        "imagenet", label="ImageNet pre-trained encoder (downloaded once)", group="Model", kind=str,
        widget="weights", parse=_weights, none_text="none",
        help="imagenet (downloaded once), none (random initialisation) or a local weights file")
    encoder_depth: int | None = option(None, label="Encoder depth", group="Model", kind=int, min=3, max=5,
                                       none_text="the architecture's (5 for most)",
                                       help="encoder stages")
    decoder_channels: tuple[int, ...] | None = option(
        None, label="Decoder channels", group="Model", kind=tuple, parse=_channels,
        none_text="the architecture's", help="comma-separated decoder widths, e.g. 64,32,16")
    # -- the data ----------------------------------------------------------------------------------
    val_split: float = option(0.2, label="Validation split", group="Data", min=0.0, max=0.9, step=0.05,
                              decimals=2, help="fraction of the images held out for validation")
    crop_size: int = option(512, label="Image / crop size", group="Data", min=32, max=4096, step=32,
                            flag="--crop", help="training crop size in pixels")
    augment: str | float = option("medium", label="Augmentation", group="Data", choices=tuple(AUGMENT_STRENGTHS),
                                  parse=_augment, help="none, light, medium, strong or a strength 0..1")
    min_samples_per_epoch: int = option(
        64, label="Crops per epoch (at least)", group="Data", min=0, max=1_000_000, step=16,
        help="repeat a small dataset so an epoch has at least this many crops (0 = each image once)")
    # -- optimisation ------------------------------------------------------------------------------
    epochs: int = option(30, label="Epochs", group="Optimisation", min=1, max=10000, help="training epochs")
    batch_size: int = option(8, label="Batch size", group="Optimisation", min=1, max=1024,
                             help="images per batch (per process under torchrun)")
    lr: float = option(1e-3, label="Learning rate", group="Optimisation", min=1e-6, max=1.0, step=1e-4,
                       decimals=6, help="peak learning rate of AdamW")
    loss: str = option("ce+dice", label="Loss", group="Optimisation", choices=LOSS_CHOICES, editable=True,
                       help="ce, dice, focal, lovasz, tversky, jaccard or a + combination")
    class_weights: str = option("none", label="Weight rare classes more", group="Optimisation",
                                choices=("none", "balanced"), check=("balanced", "none"),
                                help="none, or balanced: rare classes weigh more in the loss")
    patience: int = option(10, label="Early stopping patience", group="Optimisation", min=0, max=1000,
                           help="stop when validation mIoU has not improved for this many epochs (0 = never)")
    device: str = option("auto", label="Device", group="Optimisation", choices=DEVICES, editable=True,
                         help="auto, cuda, cuda:N, mps or cpu")
    # -- advanced ----------------------------------------------------------------------------------
    weight_decay: float = option(1e-4, label="Weight decay", group="Advanced", min=0.0, max=1.0, step=1e-4,
                                 decimals=6, help="AdamW weight decay (not applied to norms and biases)")
    schedule: str = option("cosine", label="Learning-rate schedule", group="Advanced", choices=SCHEDULES,
                           help="cosine (with warm-up), onecycle or constant")
    warmup_epochs: float = option(1.0, label="Warm-up epochs", group="Advanced", min=0.0, max=100.0,
                                  step=0.5, decimals=2, help="linear learning-rate warm-up (cosine schedule)")
    seed: int = option(0, label="Seed", group="Advanced", min=0, max=2**31 - 1,
                       help="seed of the initial weights, the split, shuffling and augmentation")
    num_workers: int | None = option(None, label="Data loader workers", group="Advanced", kind=int, min=0,
                                     max=64, flag="--workers", none_text="auto (0 on the CPU, else up to 8)",
                                     help="DataLoader worker processes")
    amp: bool = option(True, label="Mixed precision (CUDA)", group="Advanced",
                       help="bf16/fp16 mixed precision on CUDA (off: full fp32)")
    channels_last: bool = option(True, label="Channels-last memory format", group="Advanced",
                                 help="channels-last tensors (faster convolutions on CUDA and the CPU)")
    val_max_side: int = option(1024, label="Validation image size (max side)", group="Advanced", min=64,
                               max=16384, step=64, help="larger validation images are scaled down to this")
    save_interval_s: float = option(60.0, label="Save the last checkpoint every (s)", group="Advanced",
                                    min=0.0, max=86400.0, step=10.0, decimals=1, flag="--save-interval",
                                    help="seconds between writes of the last checkpoint + optimizer state")

    def smp_kwargs(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for the smp constructor: ``extra`` plus the options that are set."""
        out = dict(extra or {})
        if self.encoder_depth is not None:
            out["encoder_depth"] = self.encoder_depth
        if self.decoder_channels is not None:
            out["decoder_channels"] = list(self.decoder_channels)
        return out

    def option_values(self) -> dict[str, Any]:
        """The options only (no fields a subclass adds)."""
        return {info.name: getattr(self, info.name) for info in describe()}


@dataclass(frozen=True)
class TrainConfig(TrainOptions):
    """Everything a training run needs besides the data: the options plus where the run writes and
    what it starts from (frozen: the worker gets a copy)."""

    out: str = "model.safetensors"       # best checkpoint; siblings: .last.safetensors, .last.state.pt
    init_from: str | None = None         # "continue from the current model": start from its weights
    resume: str | None = None            # continue an interrupted run (weights + optimizer state)
    model_kwargs: dict[str, Any] = field(default_factory=dict)   # more smp constructor arguments

    def network_kwargs(self) -> dict[str, Any]:
        """The smp constructor arguments of a fresh network (model_kwargs + depth/channels)."""
        return self.smp_kwargs(self.model_kwargs)


@dataclass(frozen=True)
class OptionInfo:
    """One row of the table, as the dialog and the CLI see it."""

    name: str
    kind: type
    default: Any
    label: str
    help: str
    group: str
    meta: dict[str, Any]

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The fixed choices' values (pairs unwrapped), or None."""
        raw = self.meta.get("choices")
        return None if raw is None else tuple(c[0] if isinstance(c, tuple) else c for c in raw)

    @property
    def cli_flag(self) -> str:
        if "flag" in self.meta:
            return self.meta["flag"]
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.kind is bool and self.default is True else f"--{dashed}"

    def parse(self, text: str) -> Any:
        """A value from text (the CLI's argument), checked against the range and choices;
        ValueError names the problem. Catalogue names are checked by :func:`check_catalogue`."""
        if "parse" in self.meta:
            return self.meta["parse"](text)
        if self.kind in (int, float):
            try:
                value = self.kind(text)
            except ValueError:
                raise ValueError(f"{text!r} is not {'an integer' if self.kind is int else 'a number'}") from None
            lo, hi = self.meta.get("min"), self.meta.get("max")
            if lo is not None and value < lo or hi is not None and value > hi:
                raise ValueError(f"{text} is outside {self.span()}")
            return value
        choices = self.choices
        if choices is not None and not self.meta.get("editable") and text not in choices:
            raise ValueError(f"{text!r}: choose one of {', '.join(map(str, choices))}")
        return text

    def span(self) -> str:
        """The allowed range as text ("1..10000"), or "" without one."""
        lo, hi = self.meta.get("min"), self.meta.get("max")
        if lo is None or hi is None:
            return ""
        return "..".join(str(v) if self.kind is int else f"{v:g}" for v in (lo, hi))

    def format(self, value: Any) -> str:
        """A value as the CLI would take it (help texts, the dialog's line edits)."""
        if value is None:
            return self.meta.get("none_text", "none")
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        return str(value)


def describe() -> tuple[OptionInfo, ...]:
    """The rows of the table, in declaration order (= the dialog's and the CLI's order)."""
    return _describe()


@functools.cache
def _describe() -> tuple[OptionInfo, ...]:
    rows = []
    for f in dataclasses.fields(TrainOptions):
        m = dict(f.metadata)
        kind = m.pop("kind", None) or type(f.default)
        rows.append(OptionInfo(f.name, kind, f.default, m.pop("label"), m.pop("help"), m.pop("group"), m))
    return tuple(rows)


def info(name: str) -> OptionInfo:
    return next(i for i in describe() if i.name == name)


# -- what segmentation-models-pytorch offers (imports it: seconds, the first time) ---------------
@functools.cache
def architectures() -> tuple[str, ...]:
    """The architectures the installed segmentation-models-pytorch provides, in its order."""
    import segmentation_models_pytorch as smp
    from segmentation_models_pytorch.base import SegmentationModel

    names = getattr(smp, "__all__", None) or dir(smp)
    return tuple(n for n in names if isinstance(getattr(smp, n, None), type)
                 and issubclass(getattr(smp, n), SegmentationModel))


@functools.cache
def encoders() -> tuple[str, ...]:
    """The encoder names segmentation-models-pytorch knows (``tu-<timm model>`` works too)."""
    import segmentation_models_pytorch as smp

    return tuple(smp.encoders.get_encoder_names())


CATALOGUES: dict[str, Callable[[], tuple[str, ...]]] = {"architectures": architectures, "encoders": encoders}


def catalogues_listed() -> bool:
    """True when the catalogues were listed in this process (asking again costs nothing)."""
    return all(listing.cache_info().currsize for listing in (architectures, encoders))


def canonical_arch(arch: str) -> str:
    """The smp class name for ``arch`` (any case; ``Unet++`` / ``DeepLabV3+`` accepted);
    ValueError names the available ones."""
    available = architectures()
    key = arch.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    name = _ARCH_SPELLINGS.get(key) or next((a for a in available if a.lower() == key), None)
    if name is None or name not in available:
        raise ValueError(f"unknown architecture {arch!r}; available: {', '.join(available)}")
    return name


def check_encoder(name: str) -> str:
    """``name`` when smp knows it (or it is a ``tu-`` timm name); ValueError otherwise."""
    known = encoders()
    if name in known or (name.startswith("tu-") and len(name) > 3):
        return name
    examples = ", ".join(e for e in ("resnet34", "efficientnet-b0", "mit_b0", "mobilenet_v2") if e in known)
    raise ValueError(f"unknown encoder {name!r}: not one of segmentation-models-pytorch's {len(known)} "
                     f"encoders (e.g. {examples}) nor a timm model written tu-<name>")


def check_catalogue(opt: OptionInfo, value: str) -> str:
    """The canonical catalogue value for ``value`` (imports smp); ValueError when unknown."""
    return canonical_arch(value) if opt.meta.get("catalogue") == "architectures" else check_encoder(value)
