"""The class list and typed configs."""

import pytest

from figure_ml import classes
from figure_ml.config import SynthConfig, to_typed
from figure_ml.errors import ConfigError


def test_class_ids_are_the_contract():
    assert classes.CLASS_NAMES == ("face", "tattoo", "wristband", "text")
    assert [classes.class_id(n) for n in classes.CLASS_NAMES] == [0, 1, 2, 3]
    assert classes.names_dict() == {0: "face", 1: "tattoo", 2: "wristband", 3: "text"}
    with pytest.raises(KeyError, match="logo"):
        classes.class_id("logo")
    with pytest.raises(KeyError, match="4"):
        classes.class_name(4)
    with pytest.raises(ValueError, match="differs"):
        classes.check_names({0: "face", 1: "text"}, where="model")
    classes.check_names(classes.names_dict(), where="model")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"n_train": -1}, "n_train must be >= 0"),
        ({"classes": ["face", "logo"]}, "unknown class 'logo'"),
        ({"workers": 0}, "workers"),
        ({"long_side": [900, 600]}, "long_side"),
        ({"jpeg_quality": [50, 101]}, "jpeg_quality"),
        ({"no_such_key": 1}, "no_such_key"),
        ({"n_val": "many"}, "n_val"),
    ],
)
def test_synth_config_rejects_bad_values_naming_them(override, message):
    with pytest.raises(ConfigError, match=message):
        to_typed(override, SynthConfig)
