"""One table of training options (segstudio.ml.options): the Train dialog, ``segstudio train``
and TrainConfig take every option, with the same default, from it, and a value set in the dialog
means what the same value on the command line means. The architectures offered are
segmentation-models-pytorch's own (DPT included when the installed smp has it)."""

from __future__ import annotations

import argparse

import pytest

from segstudio.cli import main
from segstudio.commands import train as train_cmd
from segstudio.ml import options, weights
from segstudio.ui.features.training_dialog import TrainDialog, TrainSettings


def cli_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="segstudio")
    train_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", "--data", "project", "--out", "run/model.safetensors", *argv])


def cli_options(argv: list[str]) -> dict:
    return train_cmd.build_config(cli_args(argv), project=None).option_values()


@pytest.fixture
def dialog(qtbot, monkeypatch):
    monkeypatch.setattr(weights, "network_reachable", lambda timeout=1.5: True)   # never unticked
    dlg = TrainDialog(TrainSettings(), ["disc", "box"], None)
    qtbot.addWidget(dlg)
    yield dlg
    dlg.reject()   # waits for its listing / weights-check jobs


def test_dialog_cli_and_config_defaults_are_the_table_defaults(dialog):
    table = {opt.name: opt.default for opt in options.describe()}
    assert len(table) >= 20
    config = options.TrainConfig().option_values()
    from_cli = cli_options([])
    from_dialog = dialog.settings().option_values()   # read at once, before any network answer
    for name, default in table.items():
        assert (config[name], from_cli[name], from_dialog[name]) == (default, default, default), name
    # the defaults that used to differ between the window and the command line
    assert table["encoder_weights"] == "imagenet" and table["min_samples_per_epoch"] == 64


def _other_value(opt: options.OptionInfo):
    """A valid value different from the default, for every row of the table."""
    special = {"arch": "FPN", "encoder": "resnet18", "encoder_weights": None, "decoder_channels": (32, 16, 8),
               "device": "cpu", "loss": "dice", "augment": "strong"}
    if opt.name in special:
        return special[opt.name]
    if opt.kind is bool:
        return not opt.default
    if opt.choices is not None:
        return next(c for c in opt.choices if c != opt.default)
    lo, hi = opt.meta["min"], opt.meta["max"]
    if opt.default is None:
        return lo
    return opt.kind(hi) if opt.default == lo else opt.kind(lo)


def test_every_option_is_in_the_dialog_and_on_the_command_line_with_the_same_meaning(dialog):
    chosen = {opt.name: _other_value(opt) for opt in options.describe()}
    assert all(chosen[name] != opt.default for name, opt in ((o.name, o) for o in options.describe()))
    argv: list[str] = []
    for opt in options.describe():
        value = chosen[opt.name]
        argv += [opt.cli_flag] if opt.kind is bool else [opt.cli_flag, opt.format(value)]
        if opt.name == "encoder_weights":
            dialog.pretrained.setChecked(False)
        else:
            dialog.fields[opt.name].set_value(value)
    assert cli_options(argv) == chosen
    assert dialog.settings().option_values() == chosen
    # the widgets are where a user finds them: in the form, labelled, with the option's help
    for opt in options.describe():
        widget = dialog.pretrained if opt.name == "encoder_weights" else dialog.fields[opt.name].widget
        assert widget.toolTip().startswith(opt.help), opt.name
        assert dialog.boxes[opt.group].isAncestorOf(widget), opt.name


def test_the_architectures_and_encoders_offered_are_smps(dialog, qtbot):
    smp = pytest.importorskip("segmentation_models_pytorch")
    qtbot.waitUntil(lambda: dialog.arch.count() > 1, timeout=120_000)   # listed in a worker
    offered = [dialog.arch.itemText(i) for i in range(dialog.arch.count())]
    assert offered == list(options.architectures())
    assert {"Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus", "Segformer"} <= set(offered)
    if hasattr(smp, "DPT"):
        assert "DPT" in offered
    encoders = [dialog.encoder.itemText(i) for i in range(dialog.encoder.count())]
    assert encoders == list(smp.encoders.get_encoder_names())
    assert dialog.arch.currentText() == "Unet" and dialog.encoder.currentText() == "resnet34"
    dialog.arch.setCurrentText("DeepLabV3Plus")
    assert dialog.settings().arch == "DeepLabV3Plus"


def test_the_command_line_refuses_what_the_table_does_not_allow(capsys):
    pytest.importorskip("segmentation_models_pytorch")
    for argv, words in ((["--arch", "NoSuchNet"], ["--arch", "unknown architecture", "Unet", "DPT"]),
                        (["--encoder", "no-such-encoder"], ["--encoder", "unknown encoder"]),
                        (["--epochs", "0"], ["--epochs", "outside 1..10000"]),
                        (["--schedule", "linear"], ["--schedule", "cosine, onecycle, constant"]),
                        (["--decoder-channels", "32,x"], ["--decoder-channels", "64,32,16"])):
        with pytest.raises(SystemExit) as exc:
            main(["train", "--data", "nowhere", *argv])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), (argv, err)
        assert "Traceback" not in err
    # smp's own spellings are accepted and stored canonically
    assert cli_options(["--arch", "deeplabv3+", "--encoder", "tu-resnet10t"])["arch"] == "DeepLabV3Plus"


def test_bad_text_in_the_dialog_is_named_and_keeps_it_open(dialog, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _p, _t, text: shown.append(text)))
    dialog.show()
    dialog.decoder.setText("64,thirty-two")
    dialog.accept()
    assert dialog.isVisible() and shown and shown[0].startswith("Decoder channels:")
    dialog.decoder.setText("64, 32")
    assert dialog.settings().decoder_channels == (64, 32)
