"""``segstudio train``: headless training on a labelled folder, per-epoch table, resume, and
multi-process (DistributedDataParallel, gloo on the CPU) under torchrun."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from segstudio.cli import main  # noqa: E402
from segstudio.ml.synthetic import write_synthetic_project  # noqa: E402

TINY = ["--arch", "Unet", "--encoder", "tu-resnet10t", "--encoder-weights", "none", "--encoder-depth", "3",
        "--decoder-channels", "32,16,8", "--batch-size", "4", "--crop", "64", "--lr", "0.01",
        "--device", "cpu", "--quiet"]


@pytest.fixture
def project(tmp_path):
    write_synthetic_project(tmp_path / "data", 8, size=64, seed=0, mixed=True)
    return tmp_path / "data"


def test_train_writes_checkpoint_and_epoch_table(project, tmp_path, capsys):
    from segstudio.ml.checkpoint import load_checkpoint

    out = tmp_path / "run" / "best.safetensors"
    rc = main(["train", "--data", str(project), "--out", str(out), "--epochs", "2", *TINY])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    lines = captured.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "train"])
    rows = [line.split() for line in lines[header + 1: header + 3]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all(0.0 <= float(r[3]) <= 1.0 for r in rows)      # the mIoU column
    _, meta = load_checkpoint(out)
    assert meta.classes[0] == "_background_" and set(meta.classes[1:]) == {"disc", "box"}
    assert (tmp_path / "run" / "best.last.safetensors").is_file()

    # --resume (no value): continue from the .last checkpoint beside --out up to epoch 3
    rc = main(["train", "--data", str(project), "--out", str(out), "--epochs", "3", "--resume", *TINY])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    lines = captured.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "train"])
    assert lines[header + 1].split()[0] == "3"
    assert lines[header + 2].startswith(("completed", "early"))


def test_train_without_labelled_images_fails_clearly(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "m.safetensors"), *TINY])
    assert rc == 1
    assert "no labelled images" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing"), *TINY]) == 2


def test_torchrun_two_cpu_processes(project, tmp_path):
    from segstudio.ml.checkpoint import load_checkpoint

    out = tmp_path / "ddp.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "segstudio", "train", "--data", str(project), "--out", str(out), "--epochs", "1",
           "--val-split", "0.25", *TINY]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # only rank 0 prints the table and writes the checkpoint
    assert proc.stdout.count("train loss") == 1
    assert "× 2 processes" in proc.stdout
    _, meta = load_checkpoint(out)
    assert "2 processes" in meta.training["device"]
    assert meta.epoch == 1
