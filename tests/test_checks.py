"""The rules of ``resnet_utils._checks``: one message shape, the right error type, declared once."""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

from resnet_utils import _checks
from resnet_utils._checks import RULES, check, check_as, check_fields


@pytest.mark.parametrize(
    "name,value,error,message",
    [
        ("lr", 0, ValueError, "lr must be a finite number > 0, got 0"),
        ("lr", float("nan"), ValueError, "lr must be a finite number > 0, got nan"),
        ("lr", "0.1", TypeError, "lr must be a finite number > 0, got '0.1'"),
        ("num_epochs", True, TypeError, "num_epochs must be an int >= 1, got True"),
        ("num_epochs", 2.0, TypeError, "num_epochs must be an int >= 1, got 2.0"),
        ("momentum", 1.0, ValueError, "momentum must be a finite number in [0, 1), got 1.0"),
        ("seed", -1, ValueError, "seed must be an int in 0..2**32-1, got -1"),
        ("schedule", "linear", ValueError, "schedule must be one of 'onecycle', 'cosine'"),
        ("nesterov", 1, TypeError, "nesterov must be True or False, got 1"),
        ("X", torch.zeros(2, 3), ValueError, "X must be a 4-D floating-point tensor, got a 2-D "),
        ("X", torch.zeros(1, 1, 2, 2, dtype=torch.long), TypeError, "got a 4-D int64 tensor"),
        ("stride", (1, 2, 3), ValueError, "stride must be an int >= 1 or a pair of them"),
        ("stride", (1, 0), ValueError, "stride[1] must be an int >= 1, got 0"),
        ("seeds", [0, 0], ValueError, "seeds must be a list of distinct seeds"),
        ("seeds", [], ValueError, "seeds must be a non-empty list of seeds, got []"),
        ("seeds", "012", TypeError, "seeds must be a non-empty list of seeds"),
        ("loss_fn", 3, TypeError, "loss_fn must be callable, got 3"),
        ("val_size", True, ValueError, "val_size must be a fraction in [0, 1) or a count >= 0"),
        ("val_size", 1.0, ValueError, "got 1.0"),
    ],
)
def test_a_broken_rule_names_the_argument_what_it_must_be_and_what_came(
    name, value, error, message
):
    with pytest.raises(error, match=re.escape(message)):
        check(**{name: value})


def test_check_returns_the_values_cast_as_the_rules_say():
    assert check(lr=1) == 1.0 and isinstance(check(lr=1), float)
    assert check(lr=1, seed=3) == [1.0, 3]
    assert check(seeds=[2, 1]) == (2, 1)
    assert check_as("seed", "seeds[0]", 5) == 5
    with pytest.raises(ValueError, match=r"^seeds\[0\] must be"):
        check_as("seed", "seeds[0]", -5)


def test_a_long_value_is_shown_by_its_type():
    with pytest.raises(TypeError, match="got a list$"):
        check(lr=list(range(100)))


def test_optional_rules_take_none_and_check_the_rest():
    assert check(val_loader=None) is None and check(transform=None) is None
    with pytest.raises(TypeError, match="transform must be callable"):
        check(transform="flip")


def test_check_fields_checks_every_field_and_needs_a_rule_for_each():
    @dataclasses.dataclass
    class Config:
        lr: float = 0.1
        patience: int | None = None

    check_fields(Config())
    with pytest.raises(ValueError, match="lr must be"):
        check_fields(Config(lr=-1))

    @dataclasses.dataclass
    class Unknown:
        spin: int = 0

    with pytest.raises(KeyError, match="spin"):
        check_fields(Unknown())


def test_every_config_field_has_one_rule():
    from resnet_utils.bench import BenchConfig
    from resnet_utils.ddp import DDPConfig
    from resnet_utils.finetune import TransferConfig
    from resnet_utils.pretrain import PretrainConfig
    from resnet_utils.train import TrainConfig

    for config in (TrainConfig, DDPConfig, TransferConfig, PretrainConfig, BenchConfig):
        missing = [f.name for f in dataclasses.fields(config) if f.name not in RULES]
        assert not missing, (config.__name__, missing)


def test_the_rules_engine_raises_in_one_place():
    """Every message comes from Rule (and the two registry rules of models)."""
    import ast
    import inspect

    raises = [
        n for n in ast.walk(ast.parse(inspect.getsource(_checks))) if isinstance(n, ast.Raise)
    ]
    assert len(raises) == 1
