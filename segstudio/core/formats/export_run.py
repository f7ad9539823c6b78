"""Walking the images of an export: one bad image never aborts a dataset.

Every exporter (VOC, COCO, YOLO, masks, labelme) calls :func:`export_each` with a function that
exports one image. An image whose export raises (unreadable file, broken annotation, a shape that
cannot be drawn, a full disk) is left out: the files it had started are removed, the problem —
naming the image — is listed in :attr:`ExportReport.problems`, and the next image is exported.
The exporter then writes its split/index files from ``report.splits`` (in a ``finally``, so a
cancelled export also leaves a dataset whose split files list exactly the images it holds).

Pure: stdlib, segstudio.core. No Qt, no torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Sequence
from pathlib import Path

from segstudio.core.formats.base import ExportItem, ExportReport
from segstudio.core.jobs import Cancelled, Progress

log = logging.getLogger(__name__)

#: exception types whose message alone does not say what went wrong
_TERSE = (KeyError, IndexError, TypeError, AttributeError, ZeroDivisionError)


def export_each(items: Sequence[ExportItem], report: ExportReport, split: dict[str, str],
                export_one: Callable[[ExportItem, list[Path]], None], *, desc: str
                ) -> Generator[Progress, None, None]:
    """Calls ``export_one(item, written)`` for every item (a job step).

    ``export_one`` appends each file it is about to write to ``written``. An image whose export
    raises is left out: its files are removed, the problem (naming the image) goes to
    ``report.problems``, and the next image is exported. Exported images are added to
    ``report.splits``; the caller writes its split/index files from them afterwards.
    """
    yield Progress(0, len(items), desc)
    for k, it in enumerate(items):
        written: list[Path] = []
        try:
            export_one(it, written)
        except Cancelled:
            _remove(written)
            raise
        except Exception as exc:  # noqa: BLE001 - one bad image must never abort a dataset
            _remove(written)
            report.problems.append(describe_problem(it, exc))
            # the user sees the problem list at the end; the traceback is for a debug log only
            log.debug("not exported: %s", report.problems[-1], exc_info=True)
        else:
            report.splits[split[it.name]].append(it.name)
            report.images += 1
        yield Progress(k + 1, len(items), it.name)


def describe_problem(item: ExportItem, exc: BaseException) -> str:
    """``"<image path>: <problem>"``, without repeating a path the message already names."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, _TERSE):
        msg = f"{type(exc).__name__}: {msg}"   # not self-explanatory without the type
    for p in (item.image_path, item.annotation_path):
        if p is not None and str(p) in msg:
            return msg
    return f"{item.image_path}: {msg}"


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove %s: %s", p, exc)


def problems_text(report: ExportReport) -> str:
    """The problem list as the CLI prints it and the export dialog shows it."""
    if not report.problems:
        return ""
    lines = [f"{len(report.problems)} image(s) not exported:"]
    lines += [f"  {p}" for p in report.problems]
    return "\n".join(lines)
