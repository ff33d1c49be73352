"""The recipes' command line: an error is one `error:` line and exit status 1, the traceback
is behind `--debug` or `ZOO_DEBUG=1`; fit() prints one line per epoch into a log."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace

import keras
import pytest

from zoo.runs import RunSettings, fit_model, model_scope, parse_settings, run_main
from zoo.runs.training import fit_verbosity

HINT = "(for the traceback, run again with --debug or set ZOO_DEBUG=1)\n"


def failing_main(argv):
    print("Reading the data...")
    raise ValueError(f"'{argv[1]}' looks binary (it has NUL bytes); pass a UTF-8 text file.")


@pytest.fixture(autouse=True)
def no_debug_variable(monkeypatch):
    monkeypatch.delenv("ZOO_DEBUG", raising=False)


def test_an_error_is_one_line_on_stderr_and_exit_status_1(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_main(failing_main, ["--data", "/bin/ls"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == "Reading the data...\n"
    assert err == (
        "error: '/bin/ls' looks binary (it has NUL bytes); pass a UTF-8 text file.\n" + HINT
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_zoo_debug_lets_the_exception_through(monkeypatch, capsys, value):
    monkeypatch.setenv("ZOO_DEBUG", value)
    with pytest.raises(ValueError, match="looks binary"):
        run_main(failing_main, ["--data", "/bin/ls"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["0", "", "false"])
def test_zoo_debug_off_values_keep_the_short_error(monkeypatch, value):
    monkeypatch.setenv("ZOO_DEBUG", value)
    with pytest.raises(SystemExit) as exit_info:
        run_main(failing_main, ["--data", "/bin/ls"])
    assert exit_info.value.code == 1


def test_the_debug_flag_lets_the_exception_through_and_main_never_sees_it():
    seen = []

    def main(argv):
        seen.append(argv)
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        run_main(main, ["--epochs", "2", "--debug", "--seed", "3"])
    assert seen == [["--epochs", "2", "--seed", "3"]]


def test_success_returns_what_main_returns_with_sys_argv_by_default(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["translate.py", "--epochs", "1"])
    assert run_main(lambda argv: {"argv": argv}) == {"argv": ["--epochs", "1"]}


@pytest.mark.parametrize(
    "error, line",
    [
        (FileNotFoundError("No file at 'x.txt'."), "error: No file at 'x.txt'.\n"),
        (KeyError("vocab_size"), "error: KeyError: 'vocab_size'\n"),
        (RuntimeError(), "error: RuntimeError\n"),
    ],
)
def test_other_errors_name_their_type(capsys, error, line):
    def main(argv):
        raise error

    with pytest.raises(SystemExit) as exit_info:
        run_main(main, [])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == line + HINT


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), SystemExit(2)])
def test_interrupts_and_usage_errors_pass_untouched(capsys, exception):
    def main(argv):
        raise exception

    with pytest.raises(type(exception)) as raised:
        run_main(main, [])
    assert raised.value is exception
    assert capsys.readouterr().err == ""


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        if self.tty is None:
            raise ValueError("I/O operation on closed file.")
        return self.tty


@pytest.mark.parametrize(
    "stream, verbose",
    [
        (_Stream(True), 1),  # a terminal: the progress bar
        (_Stream(False), 2),  # a pipe or a file: one line per epoch
        (io.StringIO(), 2),
        (_Stream(None), 2),  # closed
        (object(), 2),  # no isatty at all
    ],
)
def test_fit_verbosity(stream, verbose):
    assert fit_verbosity(stream) == verbose


def test_fit_model_prints_one_line_per_epoch_when_stdout_is_not_a_terminal(tmp_path):
    # Under pytest's capture, stdout is not a terminal.
    class Model:
        optimizer = SimpleNamespace(iterations=SimpleNamespace(numpy=lambda: 7), built=False)
        weights = []  # what the free-space check counts

        def count_params(self):
            return 0

        def fit(self, train, **kwargs):
            self.kwargs = kwargs
            return SimpleNamespace(history={"loss": [2.0, 1.0]})

    model = Model()
    result = fit_model(model, RunSettings(epochs=2), tmp_path, train=[], validation=[])
    assert model.kwargs["verbose"] == 2
    assert (result["train_steps"], result["epochs_run"]) == (7, 2)
    fit_model(model, RunSettings(epochs=1), tmp_path, train=[], validation=[], verbose=0)
    assert model.kwargs["verbose"] == 0  # a caller's choice wins


def parse_common(argv):
    return parse_settings(RunSettings, argv, doc="A recipe.\n\nMore.", task=None)[0]


def test_strategy_flag_takes_the_strategy_kinds(capsys):
    assert parse_common([]).strategy == "auto"
    assert parse_common(["--strategy", "mirrored"]).strategy == "mirrored"
    assert parse_common(["--strategy", "default"]).strategy == "default"
    # Several machines are not a tf.distribute strategy (Keras 3's fit() fails with
    # MultiWorkerMirroredStrategy): a usage error that lists the choices.
    with pytest.raises(SystemExit) as exit_info:
        parse_common(["--strategy", "multi_worker"])
    assert exit_info.value.code == 2
    assert "choose from auto, default, mirrored" in capsys.readouterr().err.replace("'", "")


def test_strategy_help_points_several_machines_to_jax(capsys):
    with pytest.raises(SystemExit):
        parse_common(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--strategy {auto,default,mirrored}" in help_text
    assert "MirroredStrategy" in help_text and "JAX backend" in help_text


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_model_scope_is_the_strategys_scope(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with model_scope(RunSettings(strategy="mirrored")):
        strategy = tf.distribute.get_strategy()
        assert isinstance(strategy, tf.distribute.MirroredStrategy)
        variable = keras.Variable(1.0)
    # Made in the scope: one copy per device, kept equal by the strategy.
    assert strategy.extended.variable_created_in_scope(variable.value)
    with model_scope(RunSettings(strategy="default")):
        assert not tf.distribute.has_strategy()  # the default: one device, no mirroring


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="for other backends")
def test_model_scope_does_nothing_without_tensorflow():
    with model_scope(RunSettings()):
        pass
    with pytest.raises(ValueError, match="data_parallel"):
        model_scope(RunSettings(strategy="mirrored"))
