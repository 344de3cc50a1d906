"""resnet_utils.checkpoint: atomic writes, safe loading, fingerprints, RNG state."""

import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from resnet_utils.checkpoint import (
    atomic_write_json,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
    state_dict_sha256,
)


def test_roundtrip(tmp_path):
    state = {"model": nn.Linear(3, 2).state_dict(), "epoch": 3, "history": {"loss": [1.0, 0.5]}}
    save_checkpoint(tmp_path / "a" / "last.pt", state)
    loaded = load_checkpoint(tmp_path / "a" / "last.pt")
    assert loaded["epoch"] == 3 and loaded["history"] == {"loss": [1.0, 0.5]}
    torch.testing.assert_close(loaded["model"]["weight"], state["model"]["weight"])
    assert os.listdir(tmp_path / "a") == ["last.pt"]  # no temporary file left behind


def test_failed_write_keeps_previous_file(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(Exception):
        save_checkpoint(path, {"epoch": 2, "bad": Unpicklable()})
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["last.pt"]


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    save_checkpoint(tmp_path / "ok.pt", {"w": torch.ones(1000)})
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(tmp_path / "truncated.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(tmp_path / "text.pt")


def test_weights_only_refuses_code(tmp_path):
    """A pickle that would run code on load is refused, not executed."""

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(ValueError, match="corrupted or not a torch checkpoint"):
        load_checkpoint(path)


def test_atomic_json(tmp_path):
    atomic_write_json(tmp_path / "r.json", {"b": 1, "a": [1.5]})
    assert (tmp_path / "r.json").read_text().startswith('{\n  "a"')


def test_sha256_changes_with_any_weight():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    h = state_dict_sha256(model)
    assert h == state_dict_sha256(model.state_dict()) and len(h) == 64
    with torch.no_grad():
        model[0].weight[0, 0] += 1e-7
    assert state_dict_sha256(model) != h


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path):
    g = torch.Generator().manual_seed(5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    save_checkpoint(tmp_path / "rng.pt", {"rng": get_rng_state(g)})
    expected = (
        random.random(),
        np.random.rand(),
        torch.rand(1).item(),
        torch.rand(1, generator=g).item(),
    )
    random.seed(9), np.random.seed(9), torch.manual_seed(9), g.manual_seed(9)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"], g)
    assert (
        random.random(),
        np.random.rand(),
        torch.rand(1).item(),
        torch.rand(1, generator=g).item(),
    ) == expected


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path"):
        save_checkpoint(3, {})
    with pytest.raises(TypeError, match="state"):
        save_checkpoint(tmp_path / "x.pt", [1, 2])
    with pytest.raises(TypeError, match="model"):
        state_dict_sha256("weights")
