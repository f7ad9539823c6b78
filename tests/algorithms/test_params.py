"""Parameter validation gives clear messages naming the method and the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.algorithms.params import ParamError, parse_assignments
from segstudio.algorithms.registry import get_method, run_method
from segstudio.algorithms.threshold import AdaptiveParams


def test_even_block_size_is_rejected():
    with pytest.raises(ParamError) as e:
        get_method("adaptive").make_params({"block_size": "4"})
    assert str(e.value) == "method 'adaptive': parameter 'block_size' must be odd, got 4"


@pytest.mark.parametrize("values, message", [
    ({"level": "300"}, "method 'threshold': parameter 'level' must be <= 255, got 300"),
    ({"level": "abc"}, "method 'threshold': parameter 'level' must be an integer, got 'abc'"),
    ({"channel": "alpha"}, "method 'threshold': parameter 'channel' must be one of"),
    ({"invert": "maybe"}, "method 'threshold': parameter 'invert' must be true or false, got 'maybe'"),
    ({"levle": "3"}, "method 'threshold': unknown parameter 'levle'"),
])
def test_messages(values, message):
    with pytest.raises(ParamError) as e:
        get_method("threshold").make_params(values)
    assert str(e.value).startswith(message)


def test_strings_are_converted():
    p = get_method("threshold").make_params({"level": "90", "invert": "yes", "blur_sigma": "1.5"})
    assert (p.level, p.invert, p.blur_sigma) == (90, True, 1.5)


def test_cross_field_rule():
    with pytest.raises(ParamError, match="'low' .* must not exceed 'high'"):
        get_method("canny_regions").make_params({"low": "200", "high": "100"})


def test_dataclass_instance_is_validated_too():
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ParamError, match="must be odd"):
        run_method("adaptive", img, None, AdaptiveParams(block_size=8))


def test_unknown_method_lists_known_ones():
    with pytest.raises(ParamError, match="unknown method 'otsuu'.*otsu"):
        get_method("otsuu")


def test_parse_assignments():
    assert parse_assignments("m", ["a=1", " b = x "]) == {"a": "1", "b": "x"}
    with pytest.raises(ParamError, match="expected key=value, got 'a'"):
        parse_assignments("m", ["a"])
