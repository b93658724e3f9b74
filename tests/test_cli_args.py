"""Every numeric option of the command line is range-checked: one line on stderr, exit status 2."""

import os

import pytest

from facealign.cli import main

CORES = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--repeats", "0"], "argument --repeats: expected an integer >= 1, got 0"),
        (["bench", "--threads", "1", "0"], "argument --threads: expected an integer from 1 to"),
        (["info", "m", "--input-size", "0"], "argument --input-size: expected an integer from 16 to 4096, got 0"),
        (["train", "c.toml", "--threads", "-2"], f"expected an integer from 1 to {CORES} (this machine has {CORES} CPU cores), got -2"),
        (["train", "c.toml", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
        (["train", "c.toml", "--workers", "-1"], "argument --workers: expected an integer from 0 to 64, got -1"),
        (["detect", "x.jpg", "--threads", "100000"], f"(this machine has {CORES} CPU cores), got 100000"),
        (["detect", "x.jpg", "--threads", "two"], "argument --threads: expected an integer, got 'two'"),
        (["detect", "x.jpg", "--score-threshold", "1"], "argument --score-threshold: expected a number in [0, 1), got 1"),
        (["detect", "x.jpg", "--score-threshold", "nan"], "expected a number in [0, 1), got nan"),
        (["detect", "x.jpg", "--max-pixels", "0"], "argument --max-pixels: expected an integer >= 1, got 0"),
        (["eval", "--threshold", "0"], "argument --threshold: expected a number in (0, 1], got 0"),
        (["export", "m", "o.onnx", "--tolerance", "-1"], "argument --tolerance: expected a number in (0, 1], got -1"),
    ],
)
def test_out_of_range_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert err.startswith(f"facealign {argv[0]}: error: ")


@pytest.mark.parametrize("flag, expected", [([], None), (["--flip-test"], True), (["--flip", "all"], True),
                                            (["--flip", "turned"], "turned"), (["--flip", "off"], False),
                                            (["--flip-test", "--flip", "all"], True)])
def test_detect_flip_choices_reach_the_predictor(flag, expected, monkeypatch, tmp_path, capsys):
    import facealign.api

    seen = []

    def fake(model, **kwargs):
        seen.append(kwargs["flip_test"])
        raise ValueError("stopped after load_predictor")

    monkeypatch.setattr(facealign.api, "load_predictor", fake)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"")
    for argv in (["detect", str(photo), *flag], ["detect", *flag, str(photo)]):  # options before or after the paths
        assert main(argv) == 2  # the fake's ValueError, after the options were read
    assert seen == [expected, expected] and "stopped after load_predictor" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["detect", str(photo), "--flip", "sometimes"])
    assert main(["detect", str(photo), "--flip-test", "--flip", "off"]) == 2
    assert "--flip-test is --flip all; it contradicts --flip off" in capsys.readouterr().err
