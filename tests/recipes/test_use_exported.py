"""`recipes/use_exported.py` keeps TensorFlow's start-up noise off a user's terminal and
nothing else. (Running the script on an export takes 30 s or more here, so the whole run is
checked by hand: `python recipes/use_exported.py saved_models/translate_en_fr "the ball is
red"` prints nothing on stderr.)"""

from __future__ import annotations

import os

import pytest

from recipes.use_exported import quiet_start_up

# Written by TensorFlow 2.21 on a machine without a GPU, before and after its logging starts.
NOISE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1795994929.453621   26333 cudart_stub.cc:31] Could not find cuda drivers on "
    b"your machine, GPU will not be used.\n"
    b"I0000 00:00:1795994929.599534   26333 cpu_feature_guard.cc:227] This TensorFlow binary "
    b"is optimized to use available CPU instructions in performance-critical operations.\n"
    b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    b"with the appropriate compiler flags.\n"
    b"E0000 00:00:1795994936.776468   26333 cuda_platform.cc:52] failed call to cuInit: "
    b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
    b"normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. use identity normalization.\n"
)


def test_start_up_noise_is_dropped_and_every_other_line_kept_in_order(capfd):
    with quiet_start_up(enabled=True):
        middle = NOISE.index(b"\n", 200) + 1
        os.write(2, NOISE[:middle])  # what C++ writes goes to the descriptor, not sys.stderr
        os.write(2, b"E0000 saved_model_loader.cc:1] a real error\n")
        os.write(2, NOISE[middle:] + "a warning, é\n".encode())
    expected = "E0000 saved_model_loader.cc:1] a real error\na warning, é\n"
    assert capfd.readouterr().err == expected


def test_an_exception_inside_restores_stderr_and_keeps_what_was_written(capfd):
    with pytest.raises(ValueError, match="broken"), quiet_start_up(enabled=True):
        os.write(2, NOISE + b"why it broke\n")
        raise ValueError("broken")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "why it broke\nafter\n"


def test_disabled_everything_passes(capfd):
    with quiet_start_up(enabled=False):
        os.write(2, NOISE)
    assert capfd.readouterr().err == NOISE.decode()
