"""The registry contract, for every registered method: right shape and dtype, deterministic,
input unchanged, prompts required, ROI respected, parameters described for the UI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segstudio.algorithms import synthetic
from segstudio.algorithms.params import ParamError
from segstudio.algorithms.registry import Prompt, list_methods, run_method

METHODS = [s.name for s in list_methods()]


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    img, _ = synthetic.two_tone_shapes(72, 96, noise=15, seed=3)
    return img


def test_every_family_is_registered():
    families = {s.family for s in list_methods()}
    assert families == {"threshold", "edges", "watershed", "clustering", "graphcut", "regions"}
    assert len(METHODS) >= 14


@pytest.mark.parametrize("name", METHODS)
def test_contract(name: str, image: np.ndarray):
    spec = next(s for s in list_methods() if s.name == name)
    before = image.copy()
    prompt = synthetic.default_prompt(spec.needs, *image.shape[:2])
    out1 = run_method(name, image, prompt)
    out2 = run_method(name, image, prompt)
    assert out1.shape == image.shape[:2]
    assert out1.dtype == np.int32
    assert out1.min() >= 0
    assert np.array_equal(out1, out2), "not deterministic"
    assert np.array_equal(image, before), "input image modified"
    if spec.output == "binary":
        assert set(np.unique(out1)) <= {0, 1}
    # every parameter documented with a label and a help text for the generated form
    for info in spec.params_info():
        assert info.label and info.help, f"{name}.{info.name} lacks UI metadata"
        assert info.kind in (bool, int, float, str)
    # defaults pass validation
    assert dataclasses.asdict(spec.make_params({})) == dataclasses.asdict(spec.params_cls())


@pytest.mark.parametrize("name", METHODS)
def test_roi_limits_the_result(name: str, image: np.ndarray):
    spec = next(s for s in list_methods() if s.name == name)
    h, w = image.shape[:2]
    roi = (10, 8, 70, 60)
    # the prompt of a 60x52 image, moved into the ROI
    p = synthetic.default_prompt(spec.needs, 52, 60)

    def place(m):
        if m is None:
            return None
        full = np.zeros((h, w), bool)
        full[8:60, 10:70] = m
        return full

    prompt = Prompt(
        box=None if p.box is None else (p.box[0] + 10, p.box[1] + 8, p.box[2] + 10, p.box[3] + 8),
        fg_points=[(x + 10, y + 8) for x, y in p.fg_points], bg_points=[(x + 10, y + 8) for x, y in p.bg_points],
        fg_scribble=place(p.fg_scribble), bg_scribble=place(p.bg_scribble), roi=roi)
    out = run_method(name, image, prompt)
    outside = np.ones((h, w), bool)
    outside[8:60, 10:70] = False
    assert out.shape == (h, w)
    assert not out[outside].any()


@pytest.mark.parametrize("name", [s.name for s in list_methods() if s.needs != "none"])
def test_prompted_methods_say_what_they_need(name: str, image: np.ndarray):
    with pytest.raises(ParamError, match=f"method '{name}' needs"):
        run_method(name, image, Prompt())


def test_bad_image_is_reported(image: np.ndarray):
    with pytest.raises(ParamError, match="HxWx3 uint8"):
        run_method("otsu", image[:, :, 0])


@pytest.mark.parametrize("name", ["otsu", "multi_otsu", "kmeans"])
def test_native_dtype_path_gives_the_same_map(name: str, image: np.ndarray):
    native = run_method(name, image, None, None, dtype=None)
    assert np.issubdtype(native.dtype, np.integer)
    assert np.array_equal(native, run_method(name, image))
