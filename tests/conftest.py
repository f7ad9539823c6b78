"""Suite-wide test setup.

* Qt runs offscreen (set before any Qt import, so it works for every test module).
* User config / data / cache dirs (platformdirs, our QSettings file) point into a per-test tmp
  dir, so tests never read or write the real user's preferences, recent files or sample copy.
* Modal message boxes never block: ``QMessageBox.question`` answers Discard (so closing a
  window with unsaved work in a teardown does not hang the run) and warning/information/
  critical answer Ok. A test that needs another answer monkeypatches it again.
* A guard fails a test that leaves a worker job or a Python thread running: a leaked thread
  would keep touching objects of the next test.
* ``SLOW_MODULES`` marks whole modules ``slow`` (training, the scripted first hour, benchmark
  smoke runs, CLI processes that train or load models): ``make test-fast`` (``-m "not slow"``)
  leaves them out for the inner loop; ``make test`` and CI run everything.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# deterministic, quiet Qt in tests
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    base = tmp_path_factory.mktemp("userdirs")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CACHE_HOME", "cache"), ("SEGSTUDIO_CONFIG_DIR", "config/segstudio"),
                     ("SEGSTUDIO_DATA_DIR", "data/segstudio")):
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(path))
    yield base


@pytest.fixture(autouse=True)
def _non_blocking_message_boxes(monkeypatch: pytest.MonkeyPatch):
    widgets = sys.modules.get("PySide6.QtWidgets")   # only UI tests have loaded Qt widgets
    if widgets is not None:
        box = widgets.QMessageBox
        monkeypatch.setattr(box, "question", staticmethod(lambda *a, **k: box.StandardButton.Discard))
        for name in ("warning", "information", "critical"):
            monkeypatch.setattr(box, name, staticmethod(lambda *a, **k: box.StandardButton.Ok))
    yield


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    before = {t.ident for t in threading.enumerate()}
    yield
    problems: list[str] = []
    workers = sys.modules.get("segstudio.ui.workers")
    if workers is not None:
        leaked = workers.active_jobs()
        if leaked:
            problems.append("worker jobs still running: " + ", ".join(j.name for j in leaked))
            workers.cancel_all(wait_ms=5000)
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None:
        pool = qtcore.QThreadPool.globalInstance()
        if pool.activeThreadCount():
            problems.append(f"{pool.activeThreadCount()} QThreadPool workers still running")
            pool.waitForDone(5000)
    deadline = time.monotonic() + 2.0
    new = []
    while True:
        new = [t for t in threading.enumerate()
               if t.ident not in before and t.is_alive() and not t.daemon
               and not isinstance(t, threading._DummyThread)]  # type: ignore[attr-defined]
        if not new or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if new:
        problems.append("threads still running: " + ", ".join(t.name for t in new))
    if problems:
        pytest.fail("test left work running in the background: " + "; ".join(problems))


#: test modules that take many seconds on a 2-core machine (the one place to list them; a single
#: slow test elsewhere takes ``@pytest.mark.slow``)
SLOW_MODULES = frozenset({
    "tests/ml/test_train.py",            # real training runs
    "tests/ml/test_uncertainty.py",      # trains a model to score
    "tests/ml/test_models_checkpoint.py",   # builds/exports networks (TorchScript, ONNX)
    "tests/ml/test_predict.py",
    "tests/cli/test_train.py",           # segstudio train processes
    "tests/cli/test_pipeline.py",        # train → predict → evaluate processes
    "tests/cli/test_predict.py",
    "tests/cli/test_rank.py",
    "tests/benchmarks/test_smoke.py",    # every benchmark's --smoke run
    "tests/ui/test_first_hour.py",       # the scripted first hour (trains a model)
    "tests/ui/test_first_hour_training.py",
    "tests/ui/test_training_ui.py",
    "tests/ui/test_label_next.py",
    "tests/ui/test_label_next_scoring.py",   # trains, then scores every image
    "tests/ui/test_action_table.py",     # loads a model into the window with every feature
    "tests/ui/test_model_menu.py",       # loads a model, predicts in the window
    "tests/ml/test_checkpoint_bad_metadata.py",   # builds networks
    "tests/cli/test_predict_masks_output.py",     # predicts with a model
    "tests/cli/test_bench_export_smoke.py",       # a benchmark's --smoke run
    "tests/algorithms/test_boxcut_photos.py",     # box cut vs GrabCut on photo-sized images
    "tests/sam/test_bench_sam_smoke.py",          # bench_sam's --smoke runs
    "tests/cli/test_realistic_pipeline.py",       # export → train → predict on real-shaped data
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        try:
            rel = item.path.relative_to(root).as_posix()
        except ValueError:
            continue
        if rel in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_unconfigure(config: pytest.Config) -> None:
    # each MainWindow freezes the heap it starts with (segstudio.ui.responsiveness.freeze_startup_heap);
    # give it back to the collector so extension modules see their objects freed at exit
    import gc

    gc.unfreeze()
    gc.collect()


@pytest.fixture
def torch_two_threads():
    """torch on 2 threads for the test (as on CI's 2 cores), restored after; imports torch only
    for the tests that ask for it."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)
