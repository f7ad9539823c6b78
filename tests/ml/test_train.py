"""Training: the loop learns (val mIoU ≥ 0.9 on synthetic shapes), is reproducible, stops and
resumes exactly; the data pipeline rasterises like export and keeps augmentation aligned."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.core.jobs import run_to_end  # noqa: E402
from segstudio.core.metrics import confusion_matrix, scores_from_confusion  # noqa: E402
from segstudio.ml.augment import AugmentParams, augment_pair  # noqa: E402
from segstudio.ml.data import LoadedData, split_indices  # noqa: E402
from segstudio.ml.synthetic import synthetic_samples, write_synthetic_project  # noqa: E402
from segstudio.ml.train import TrainConfig, output_paths, train_job  # noqa: E402
from segstudio.ml.train_state import load_state  # noqa: E402

TINY = {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}


pytestmark = pytest.mark.usefixtures("torch_two_threads")


def tiny_config(tmp_path, **kw) -> TrainConfig:
    base = dict(out=str(tmp_path / "model.safetensors"), arch="Unet", encoder="tu-resnet10t",
                model_kwargs=TINY, epochs=8, batch_size=4, lr=1e-2, crop_size=64, val_split=0.25,
                augment="light", warmup_epochs=0.5, patience=0, device="cpu", seed=0, num_workers=0,
                encoder_weights=None, min_samples_per_epoch=0)
    base.update(kw)
    return TrainConfig(**base)


def test_tiny_unet_learns_synthetic_shapes(tmp_path):
    from segstudio.ml.checkpoint import load_checkpoint

    data = synthetic_samples(40, size=64, seed=1)
    events = []
    # 12 epochs of 64 crops (30 training images repeated): ~190 steps of a 0.4 M-parameter Unet
    cfg = tiny_config(tmp_path, epochs=12, min_samples_per_epoch=64)
    result = run_to_end(train_job(cfg, data), events.append)
    assert result.stopped == "completed" and result.epochs_run == 12
    assert result.best_miou is not None and result.best_miou >= 0.9
    epochs = [p.data for p in events if p.data.get("phase") == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(1, 13))
    assert all(set(e["per_class_iou"]) == {"_background_", "disc", "box"} for e in epochs)
    assert any(p.data.get("phase") == "batch" and p.data["eta_s"] >= 0 for p in events)
    # the best checkpoint is the model that scored best: re-score it on the validation images
    model, meta = load_checkpoint(result.best_path)
    assert meta.classes == ["_background_", "disc", "box"] and meta.epoch == result.best_epoch
    assert meta.model_kwargs["encoder_depth"] == 3
    _, val_idx = split_indices(40, 0.25, 0)
    cm = np.zeros((3, 3), np.int64)
    mean = torch.tensor(meta.mean).view(1, 3, 1, 1) * 255
    std = torch.tensor(meta.std).view(1, 3, 1, 1) * 255
    with torch.no_grad():
        for i in val_idx:
            s = data.samples[i]
            x = (torch.from_numpy(s.image).permute(2, 0, 1)[None].float() - mean) / std
            pred = model(x).argmax(1)[0].numpy()
            cm += confusion_matrix(s.label, pred, 3)
    assert scores_from_confusion(cm, meta.classes)["miou"] == pytest.approx(result.best_miou, abs=1e-6)
    history = json.loads(output_paths(result.best_path)["history"].read_text())
    assert len(history) == 12 and history[-1]["best_miou"] == pytest.approx(result.best_miou)


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_same_seed_same_weights_on_cpu(tmp_path):
    data = synthetic_samples(8, size=64, seed=2)
    runs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        cfg = tiny_config(tmp_path / name, epochs=1, val_split=0.25, seed=seed)
        runs.append(_weights(run_to_end(train_job(cfg, data)).last_path))
    a, b, c = runs
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_stop_then_resume_equals_uninterrupted_run(tmp_path):
    data = synthetic_samples(8, size=64, seed=3)
    straight = run_to_end(train_job(tiny_config(tmp_path / "straight", epochs=3), data))

    # Stop after the second epoch (the GUI closes the generator): checkpoints are kept
    cfg = tiny_config(tmp_path / "stopped", epochs=3)
    gen = train_job(cfg, data)
    for p in gen:
        if p.data.get("phase") == "epoch" and p.data["epoch"] == 2:
            break
    gen.close()
    paths = output_paths(cfg.out)
    assert paths["best"].is_file() and paths["last"].is_file()
    assert load_state(paths["state"])["epoch"] == 2

    resumed_events = []
    resumed = run_to_end(train_job(tiny_config(tmp_path / "stopped", epochs=3, resume=str(paths["last"])),
                                   data), resumed_events.append)
    assert [p.data["epoch"] for p in resumed_events if p.data.get("phase") == "epoch"] == [3]
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    a, b = _weights(straight.last_path), _weights(resumed.last_path)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.history[-1]["miou"] == pytest.approx(straight.history[-1]["miou"])


def test_stop_before_first_epoch_still_leaves_a_checkpoint(tmp_path):
    from segstudio.core.jobs import CancelToken
    from segstudio.ml.checkpoint import load_checkpoint

    token = CancelToken()

    def on_progress(p):
        if p.data.get("phase") == "batch":
            token.cancel()   # Stop pressed during the first epoch

    result = run_to_end(train_job(tiny_config(tmp_path, epochs=5), synthetic_samples(8, seed=4), token),
                        on_progress)
    assert result.stopped == "cancelled" and result.epochs_run == 0
    assert result.best_path == str(tmp_path / "model.safetensors")
    _, meta = load_checkpoint(tmp_path / "model.safetensors")
    assert meta.epoch == 0 and meta.training["stopped"] == "cancelled"


def test_project_folder_dataset_rasterises_like_export(tmp_path):
    from segstudio.core import project_io
    from segstudio.core.rasterize import class_value_map, shapes_to_label
    from segstudio.ml.data import load_samples, snapshot_project

    write_synthetic_project(tmp_path, 6, size=48, seed=5, mixed=True)
    # a pre-annotated (not accepted) image and a labelme file from elsewhere (no segstudio key)
    pre = json.loads((tmp_path / "img003.json").read_text())
    pre["segstudio"] = {"state": "pre-annotated"}
    (tmp_path / "img003.json").write_text(json.dumps(pre))
    foreign = json.loads((tmp_path / "img004.json").read_text())
    del foreign["segstudio"]
    (tmp_path / "img004.json").write_text(json.dumps(foreign))
    (tmp_path / "img005.json").unlink()   # an unlabelled image

    project = project_io.open_project(tmp_path)
    spec = snapshot_project(project)
    keys = sorted(p.split("/")[-1] for p in (s.image_path for s in spec.samples))
    assert keys == ["img000.png", "img001.png", "img002.png", "img004.png"]
    assert spec.classes[0] == "_background_" and set(spec.classes[1:]) == {"disc", "box"}
    loaded = run_to_end(load_samples(spec))
    for s in loaded.samples:
        ann = project_io.load_annotation(project, s.key)
        h, w = s.label.shape
        assert s.image.shape == (h, w, 3) and s.image.dtype == np.uint8   # grayscale → 3 channels
        expected, _ = shapes_to_label(ann.shapes, h, w, class_value_map(list(spec.classes)), dtype=np.uint8)
        np.testing.assert_array_equal(s.label, expected)
    special = next(s for s in loaded.samples if s.key.endswith("img001.json"))
    assert special.label[0, 0] == 255                      # __ignore__ region
    assert (special.label == 0).any()                      # unlabelled pixels are background


def test_augmentation_keeps_image_and_label_aligned():
    rng = np.random.default_rng(0)
    label = np.zeros((80, 100), np.uint8)
    label[10:50, 20:60] = 1
    label[55:75, 5:95] = 2
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    image = colours[label]
    params = AugmentParams(strength=1.0, brightness=0, contrast=0, saturation=0, hue_deg=0, noise_std=0)
    for _ in range(20):
        img, lab = augment_pair(image, label, params, 64, rng=rng)
        assert img.shape == (64, 64, 3) and lab.shape == (64, 64)
        valid = lab != 255
        match = (np.abs(img[valid].astype(int) - colours[lab[valid]].astype(int)).max(axis=1) < 128)
        assert match.mean() > 0.97


@pytest.mark.parametrize("loss_name", ["ce", "dice", "focal", "lovasz", "tversky", "ce+dice"])
def test_losses_ignore_the_ignore_region(loss_name):
    from segstudio.ml.losses import build_loss

    loss_fn = build_loss(loss_name, 3, ignore_index=255, class_weights=[1.0, 2.0, 2.0])
    target = torch.randint(0, 3, (2, 16, 16))
    target[:, :8] = 255
    logits = torch.randn(2, 3, 16, 16, requires_grad=True)
    loss = loss_fn(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad[:, :, :8].abs().max() == 0          # ignored pixels have no influence
    assert logits.grad[:, :, 8:].abs().max() > 0


def test_no_labelled_images_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no labelled images"):
        run_to_end(train_job(tiny_config(tmp_path), LoadedData(["_background_", "a"], [])))


def test_balanced_class_weights_favour_rare_classes():
    from segstudio.ml.data import TrainSample, balanced_class_weights

    label = np.zeros((40, 40), np.uint8)
    label[:4, :4] = 2          # rare
    label[10:30, 10:30] = 1    # common
    label[35:, 35:] = 255      # ignored pixels are not counted
    w = balanced_class_weights([TrainSample(np.zeros((40, 40, 3), np.uint8), label)], 4)
    assert w[2] > w[1] > w[0]
    assert w[3] == 1.0         # absent class: neutral weight


def test_split_is_deterministic_and_disjoint():
    a = split_indices(10, 0.3, seed=7)
    assert a == split_indices(10, 0.3, seed=7)
    assert a != split_indices(10, 0.3, seed=8)
    train, val = a
    assert len(val) == 3 and sorted(train + val) == list(range(10))
    assert split_indices(2, 0.01, 0)[1] != []     # at least one validation image
    assert split_indices(1, 0.5, 0) == ([0], [])  # never an empty training set


def test_continue_from_a_model_with_a_new_class_keeps_the_encoder(tmp_path):
    from segstudio.ml.checkpoint import load_checkpoint

    data = synthetic_samples(8, size=64, seed=6)
    first = run_to_end(train_job(tiny_config(tmp_path / "a", epochs=1), data))
    old, _ = load_checkpoint(first.best_path)
    more = LoadedData(data.classes + ["triangle"], data.samples)   # the user added a class
    cfg = tiny_config(tmp_path / "b", epochs=1, init_from=first.best_path, lr=0.0, arch="FPN",
                      encoder="resnet18", model_kwargs={})
    second = run_to_end(train_job(cfg, more))
    new, meta = load_checkpoint(second.best_path)
    # architecture and encoder come from the model continued from, the head grows to 4 classes
    assert (meta.arch, meta.encoder, meta.model_kwargs["encoder_depth"]) == ("Unet", "tu-resnet10t", 3)
    assert meta.classes == ["_background_", "disc", "box", "triangle"]
    conv = next(k for k, v in old.state_dict().items() if k.startswith("encoder.") and v.ndim == 4)
    assert torch.equal(old.state_dict()[conv], new.state_dict()[conv])   # lr 0: encoder weights kept


def _events_until_first_batch(cfg, data) -> list:
    gen = train_job(cfg, data)
    events = []
    for p in gen:
        if p.data.get("phase") == "batch":
            break
        events.append(p)
    gen.close()
    return events


def test_stop_during_start_up_ends_before_any_training(tmp_path):
    """Stop while images load, the model is built or the data is prepared: the job ends at the
    next start-up step, trains nothing and writes no file (a random model is no model)."""
    from segstudio.core import project_io
    from segstudio.core.jobs import CancelToken
    from segstudio.ml.data import snapshot_project

    write_synthetic_project(tmp_path / "data", 4, size=48, seed=8, mixed=False)
    spec = snapshot_project(project_io.open_project(tmp_path / "data"))
    start_up = _events_until_first_batch(tiny_config(tmp_path / "probe", epochs=1), spec)
    setup = [p.message for p in start_up if p.data.get("phase") == "setup"]
    assert any("model" in m for m in setup) and any("loading" in m for m in setup)
    stop_points = setup + ["loading img001.png"]   # also in the middle of decoding the images
    for k, stop_at in enumerate(stop_points):
        token = CancelToken()
        seen: list = []

        def on_progress(p, stop_at=stop_at, token=token, seen=seen):
            seen.append(p)
            if p.message == stop_at:
                token.cancel()

        cfg = tiny_config(tmp_path / f"stop{k}", epochs=1)
        result = run_to_end(train_job(cfg, spec, token), on_progress)
        assert result.stopped == "cancelled" and result.epochs_run == 0, stop_at
        assert result.best_path is None and result.history == []
        assert seen[-1].message == stop_at                        # not one step further
        assert not any(p.data.get("phase") in ("batch", "epoch") for p in seen)
        assert not (tmp_path / f"stop{k}").exists()               # nothing written
        assert result.classes == list(spec.classes)


def test_early_stopping_waits_patience_epochs_and_keeps_the_best(tmp_path, monkeypatch):
    """Validation mIoU 0.5, 0.7, 0.6, 0.69 with patience 2: training stops after epoch 4 (of 6),
    the best checkpoint is epoch 2's; patience 0 never stops early."""
    import segstudio.ml.train as train_mod
    from segstudio.ml.checkpoint import load_checkpoint

    scripted = iter([0.5, 0.7, 0.6, 0.69, 0.9, 0.95])
    real_validate = train_mod.validate

    def scripted_validate(*args, **kwargs):
        scores = yield from real_validate(*args, **kwargs)   # the real pass, a scripted score
        return {**scores, "miou": next(scripted)}

    monkeypatch.setattr(train_mod, "validate", scripted_validate)
    data = synthetic_samples(6, size=32, seed=9)
    cfg = tiny_config(tmp_path, epochs=6, patience=2, save_interval_s=0.0, crop_size=32)
    result = run_to_end(train_job(cfg, data))
    assert result.stopped == "early-stopped"
    assert result.epochs_run == 4 and [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert result.best_epoch == 2 and result.best_miou == pytest.approx(0.7)
    _, best = load_checkpoint(result.best_path)
    _, last = load_checkpoint(result.last_path)
    assert best.epoch == 2 and best.training["metrics"]["miou"] == pytest.approx(0.7)
    assert last.epoch == 4
    # patience 0 never stops early: the same scores run all 5 epochs
    scripted = iter([0.5, 0.7, 0.6, 0.69, 0.6])
    off = run_to_end(train_job(tiny_config(tmp_path / "off", epochs=5, patience=0, crop_size=32), data))
    assert off.stopped == "completed" and off.epochs_run == 5 and off.best_epoch == 2


def test_onecycle_schedule_warms_up_to_lr_then_anneals(tmp_path):
    from segstudio.ml.checkpoint import load_checkpoint

    events = []
    cfg = tiny_config(tmp_path, epochs=4, schedule="onecycle", lr=0.02, val_split=0.0, batch_size=2,
                      crop_size=32)
    result = run_to_end(train_job(cfg, synthetic_samples(8, size=32, seed=10)), events.append)
    assert result.stopped == "completed"
    lrs = [p.data["lr"] for p in events if p.data.get("phase") == "batch"]
    assert len(lrs) == 16                            # 8 images, batch 2, 4 epochs
    peak = int(np.argmax(lrs))
    assert 0 < peak < len(lrs) - 1                   # rises, then falls
    assert lrs[0] == pytest.approx(0.02 / 25)       # starts at max_lr / div_factor
    assert lrs[-1] < 0.02 / 1000                     # and anneals far below it
    assert max(lrs) <= 0.02 * (1 + 1e-9)
    assert all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1], strict=True))
    assert all(a >= b for a, b in zip(lrs[peak:-1], lrs[peak + 1:], strict=True))
    _, meta = load_checkpoint(result.best_path)
    assert meta.training["config"]["schedule"] == "onecycle"


@pytest.mark.parametrize("schedule", ["cosine", "constant", "onecycle"])
def test_schedules_per_step(schedule):
    from segstudio.ml.optim import build_optimisation

    o = build_optimisation(torch.nn.Linear(2, 2), 0.1, 0.0, schedule, steps_per_epoch=10, epochs=5,
                           warmup_epochs=1.0, fp16=False)
    lrs = []
    for _ in range(50):   # the rate each of the 50 steps uses
        lrs.append(o.opt.param_groups[0]["lr"])
        o.opt.step()
        o.sched.step()
    if schedule == "constant":
        assert lrs == [pytest.approx(0.1)] * 50
    elif schedule == "cosine":                      # warm-up over epoch 1 from 10 %, then decay to 1 %
        assert lrs[0] == pytest.approx(0.01) and lrs[0] < lrs[5] < lrs[10] == pytest.approx(0.1)
        assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
        assert 0.001 < lrs[-1] < 0.0015                # 1 % is where the schedule ends
    else:
        assert lrs[0] == pytest.approx(0.1 / 25) and max(lrs) == pytest.approx(0.1, rel=1e-2)
        assert lrs[-1] < 1e-5


def test_unknown_schedule_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="schedule 'linear'"):
        run_to_end(train_job(tiny_config(tmp_path, schedule="linear"), synthetic_samples(4, seed=11)))
