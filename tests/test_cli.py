"""resnet_utils.cli: the four command lines share flags, errors and the JSON envelope."""

import importlib
import json

import pytest

from resnet_utils import cli

COMMANDS = ("train", "finetune", "bench", "ddp")


def _parser(command):
    return importlib.import_module(f"resnet_utils.cli.{command}").build_parser()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_the_shared_flags(command):
    p = _parser(command)
    args = p.parse_args([])
    assert args.device == "auto" and args.quiet is False and args.json is None
    assert p.prog == f"python -m resnet_utils.{command}"
    flags = {s for a in p._actions for s in a.option_strings}
    if command != "bench":  # the benchmark's --modes set precision and memory format
        assert {"--seed", "--precision", "--channels-last", "--save"} <= flags
        assert args.precision == "fp32" and args.seed == 0
    assert not {"--epochs", "--checkpoint-dir", "--save-pretrained"} & flags
    if command in ("train", "ddp"):
        assert "--num-epochs" in flags


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "argv, word",
    [(["--device"], "--device"), (["--no-such-flag"], "unrecognized"), (["--json"], "--json")],
)
def test_a_bad_argument_is_one_line_and_exit_1(command, argv, word, capsys):
    main = importlib.import_module(f"resnet_utils.cli.{command}").main
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err
    assert err.startswith(f"python -m resnet_utils.{command}: error:")


def test_errors_and_ctrl_c(capsys):
    p = cli.parser("demo", "a demo")

    def bad(args):
        raise ValueError("lr must be > 0, got -1\nsecond line")

    def interrupted(args):
        raise KeyboardInterrupt

    assert cli.run(p, bad, []) == 1
    assert (
        capsys.readouterr().err == "python -m resnet_utils.demo: error: lr must be > 0, got -1\n"
    )
    assert cli.run(p, interrupted, []) == 130
    assert "interrupted" in capsys.readouterr().err
    assert cli.run(p, lambda args: None, []) == 0
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        cli.run(p, lambda args: 1 / 0, [])


def test_the_envelope_carries_command_config_and_versions(tmp_path):
    from resnet_utils.train import TrainConfig

    path = tmp_path / "out.json"
    cli.write_json(path, "train", TrainConfig(num_epochs=3), {"test_accuracy": 0.5})
    data = json.loads(path.read_text())
    assert data["command"] == "python -m resnet_utils.train" and data["test_accuracy"] == 0.5
    assert data["config"]["num_epochs"] == 3 and {"torch", "python"} <= set(data["versions"])
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_the_envelope_writes_config_and_versions_once_the_commands(tmp_path):
    # transfer_experiment and benchmark return their own config and versions: the command's win
    path = tmp_path / "out.json"
    result = {"config": {"seed": 7}, "versions": {"torch": "0.0"}, "command": "x", "acc": 0.5}
    cli.write_json(path, "bench", {"seed": 0}, result)
    data = json.loads(path.read_text())
    assert sorted(data) == ["acc", "command", "config", "versions"]
    assert data["command"] == "python -m resnet_utils.bench" and data["config"] == {"seed": 0}
    assert data["versions"]["torch"] != "0.0"
    assert result["config"] == {"seed": 7}  # the caller's result is left as it was


def test_a_rule_message_names_the_flag_that_set_the_field(capsys):
    p = cli.parser("demo", "a demo")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--labels-per-class", type=int, nargs="+")

    def body(args):
        from resnet_utils._checks import check

        check(batch_size=args.batch_size, labels_per_class=args.labels_per_class)

    assert cli.run(p, body, ["--batch-size", "0", "--labels-per-class", "1"]) == 1
    err = capsys.readouterr().err
    assert err == "python -m resnet_utils.demo: error: --batch-size must be an int >= 1, got 0\n"
    assert cli.run(p, body, ["--batch-size", "2", "--labels-per-class", "3", "0"]) == 1
    assert (
        "error: --labels-per-class[1] must be an int in [1, 50], got 0" in capsys.readouterr().err
    )
    assert cli.run(p, body, ["--batch-size", "x"]) == 1  # argparse's own: the type
    assert "argument --batch-size: invalid int value: 'x'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command, defined",
    [
        ("train", {"TrainConfig", "fit", "History"}),
        ("finetune", {"TransferConfig", "load_pretrained"}),
        ("bench", {"BenchConfig", "benchmark"}),
        ("ddp", {"DDPConfig", "train"}),
    ],
)
def test_python_m_runs_the_command_without_a_second_copy_of_the_module(
    command, defined, monkeypatch
):
    """``python -m resnet_utils.train`` once ran train.py as __main__ *and* imported it again
    (through the command line), so two TrainConfig classes existed; now each module's
    __main__ only hands over to its command in resnet_utils.cli."""
    import runpy
    import sys
    import warnings

    command_module = importlib.import_module(f"resnet_utils.cli.{command}")

    seen = {}

    def fake_main(argv=None):
        seen.update(vars(sys.modules["__main__"]))
        return 0

    monkeypatch.setattr(command_module, "main", fake_main)
    with pytest.raises(SystemExit) as done, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules": it is, here
        runpy.run_module(f"resnet_utils.{command}", run_name="__main__", alter_sys=True)
    assert done.value.code == 0 and seen
    assert not defined & set(seen)
