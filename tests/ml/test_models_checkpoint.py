"""Model factory, safe checkpoints, plain state-dict import and deployment exports (CPU, tiny models)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segstudio.ml.checkpoint import (  # noqa: E402
    CheckpointError,
    ModelMeta,
    import_state_dict,
    load_checkpoint,
    read_meta,
    read_plain_state_dict,
    save_checkpoint,
)
from segstudio.ml.models import (  # noqa: E402
    ModelBuildError,
    PretrainedWeightsError,
    build_model,
    list_architectures,
    list_encoders,
)
from tests.support.tiny_models import CLASSES, TINY, tiny_meta, tiny_model  # noqa: E402


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


def forward(model, x):
    with torch.no_grad():
        return model.eval()(x)


def test_factory_lists_what_smp_provides():
    archs = list_architectures()
    assert {"Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus", "Segformer"} <= set(archs)
    assert {"resnet18", "resnet34", "mobilenet_v2", "efficientnet-b0", "mit_b0"} <= set(list_encoders())
    from segstudio.ml.models import canonical_arch

    assert canonical_arch("deeplabv3+") == "DeepLabV3Plus" and canonical_arch("Unet++") == "UnetPlusPlus"
    model = build_model("unet", "resnet18", 1, 4, **TINY)   # gray input, 4 classes
    out = forward(model, torch.rand(1, 1, 64, 64))
    assert out.shape == (1, 4, 64, 64)


def test_unknown_architecture_and_encoder_are_named():
    with pytest.raises(ModelBuildError, match="Transformerz"):
        build_model("Transformerz", "resnet18", 3, 2)
    with pytest.raises(ModelBuildError, match="resnet9000"):
        build_model("Unet", "resnet9000", 3, 2)


def test_offline_imagenet_weights_give_a_clear_message(monkeypatch):
    import segmentation_models_pytorch.encoders as enc
    from huggingface_hub.errors import LocalEntryNotFoundError

    def no_network(*_a, **_k):
        raise LocalEntryNotFoundError("cannot reach the hub")

    monkeypatch.setattr(enc, "hf_hub_download", no_network)
    with pytest.raises(PretrainedWeightsError) as info:
        build_model("Unet", "resnet34", 3, 2, encoder_weights="imagenet")
    msg = str(info.value)
    assert "could not download imagenet weights for resnet34" in msg
    assert "encoder_weights=None" in msg and "local weights file" in msg


def test_local_encoder_weights_file_is_loaded(tmp_path):
    from safetensors.torch import save_file

    donor = tiny_model(seed=1)
    path = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in donor.encoder.state_dict().items()}, str(path))
    model = build_model("Unet", "resnet18", 3, 3, encoder_weights=str(path), **TINY)
    for k, v in donor.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[k], v), k
    with pytest.raises(PretrainedWeightsError, match="does not exist"):
        build_model("Unet", "resnet18", 3, 3, encoder_weights=str(tmp_path / "missing.pth"))


def test_save_load_gives_identical_outputs_and_metadata(tmp_path):
    model = tiny_model()
    meta = tiny_meta(train_size=(96, 128), training={"epochs": 3, "val_miou": 0.5}, epoch=3)
    path = save_checkpoint(tmp_path / "model", model, meta)
    assert path.name == "model.safetensors" and path.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    loaded, meta2 = load_checkpoint(path)
    x = torch.rand(2, 3, 64, 96)
    assert torch.equal(forward(model, x), forward(loaded, x))
    assert meta2.classes == CLASSES and meta2.colors == meta.colors and meta2.colors[0] == (0, 0, 0)
    assert meta2.train_size == (96, 128) and meta2.training["val_miou"] == 0.5 and meta2.epoch == 3
    assert meta2.mean == pytest.approx(meta.mean) and meta2.segstudio_version
    assert read_meta(path).model_kwargs["encoder_depth"] == 3


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned.txt"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))   # unpickling would create the marker file

    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": Evil()}, evil)
    for load in (lambda: load_checkpoint(evil), lambda: read_plain_state_dict(evil),
                 lambda: import_state_dict(evil, "Unet", "resnet18", CLASSES, **{"model_kwargs": TINY})):
        with pytest.raises(CheckpointError, match="refused"):
            load()
        assert not marker.exists()
    # the file really is malicious: an unsafe load runs the payload
    torch.load(evil, weights_only=False)
    assert marker.exists()


def test_raw_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "pwned2.txt"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"a": Evil()}))
    with pytest.raises(CheckpointError):
        read_plain_state_dict(evil)
    assert not marker.exists()


def test_metadata_not_matching_weights_is_a_clear_error(tmp_path):
    model = tiny_model()
    wrong = ModelMeta("Unet", "resnet18", 3, ["_background_", "a", "b", "c"], model_kwargs=dict(TINY))
    path = save_checkpoint(tmp_path / "wrong.safetensors", model, wrong)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "wrong.safetensors" in msg and "do not match" in msg and "4 classes" in msg
    other_encoder = ModelMeta("Unet", "resnet34", 3, CLASSES, model_kwargs=dict(TINY))
    path2 = save_checkpoint(tmp_path / "enc.safetensors", model, other_encoder)
    with pytest.raises(CheckpointError, match="resnet34.*(missing|unexpected)"):
        load_checkpoint(path2)


def test_non_checkpoints_are_named(tmp_path):
    from safetensors.torch import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    with pytest.raises(CheckpointError, match="bare.safetensors.*without segstudio metadata"):
        load_checkpoint(bare)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.safetensors")
    plain = tmp_path / "plain.pth"
    torch.save(tiny_model().state_dict(), plain)
    with pytest.raises(CheckpointError, match="plain PyTorch state dict"):
        load_checkpoint(plain)
    bad_meta = tmp_path / "badmeta.safetensors"
    save_file({"w": torch.zeros(2)}, str(bad_meta), metadata={"segstudio": json.dumps({"arch": "Unet"})})
    with pytest.raises(CheckpointError, match="invalid segstudio metadata"):
        load_checkpoint(bad_meta)


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "module"])
def test_import_plain_state_dict(tmp_path, wrap):
    model = tiny_model(seed=2)
    sd = model.state_dict()
    obj = {"plain": sd, "state_dict": {"state_dict": sd, "epoch": 7},
           "module": {f"module.{k}": v for k, v in sd.items()}}[wrap]
    path = tmp_path / "plain.pth"
    torch.save(obj, path)
    imported, meta = import_state_dict(path, "unet", "resnet18", CLASSES, model_kwargs=dict(TINY))
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(forward(model, x), forward(imported, x))
    # …and it becomes a self-describing checkpoint
    ck = save_checkpoint(tmp_path / "imported.safetensors", imported, meta)
    again, meta2 = load_checkpoint(ck)
    assert torch.equal(forward(model, x), forward(again, x)) and meta2.classes == CLASSES


def test_torchscript_export_reproduces_outputs(tmp_path):
    from segstudio.ml.export import export_torchscript, load_torchscript_meta

    model = tiny_model()
    path = export_torchscript(model, tiny_meta(), tmp_path / "model.ts", example_size=64)
    scripted = torch.jit.load(str(path))
    x = torch.rand(1, 3, 96, 64)
    np.testing.assert_allclose(forward(scripted, x).numpy(), forward(model, x).numpy(), atol=1e-5)
    assert load_torchscript_meta(path).classes == CLASSES


def test_onnx_export_reproduces_outputs(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from onnx.reference import ReferenceEvaluator

    from segstudio.ml.export import export_onnx

    model = tiny_model()
    path = export_onnx(model, tiny_meta(), tmp_path / "model.onnx", example_size=64)
    proto = onnx.load(str(path))
    meta = json.loads({p.key: p.value for p in proto.metadata_props}["segstudio"])
    assert meta["classes"] == CLASSES
    x = torch.rand(1, 3, 64, 64)
    got = ReferenceEvaluator(proto).run(None, {proto.graph.input[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, forward(model, x).numpy(), atol=1e-4)


def test_saved_checkpoint_is_readable_like_any_file_and_keeps_the_mode_it_replaces(tmp_path, monkeypatch):
    """mkstemp makes 0600 files: a checkpoint shared with colleagues came out private."""
    import os
    import stat

    path = save_checkpoint(tmp_path / "m.safetensors", tiny_model(), tiny_meta())
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    before = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        save_checkpoint(path, tiny_model(seed=1), tiny_meta())
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    save_checkpoint(path, tiny_model(seed=1), tiny_meta())
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    load_checkpoint(path)
