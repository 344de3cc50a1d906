"""resnet_utils.ddp: 2 CPU ranks under torchrun give the weights of the single-process reference."""

import json
import subprocess
import sys

import pytest
import torch

from resnet_utils.cli.ddp import main
from resnet_utils.ddp import DDPConfig, shard_loader, train

CONFIG = DDPConfig(num_epochs=1)


def global_batches(n, batch_size, epoch, seed):
    """The hand-written definition shard_loader replaced: a seeded shuffle, cut into batches."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
    return [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


@pytest.mark.parametrize("n, batch, world", [(50, 8, 2), (898, 64, 2), (101, 12, 3), (30, 6, 1)])
def test_shard_loaders_cut_each_global_batch_into_rank_shards(n, batch, world):
    from torch.utils.data import TensorDataset

    dataset = TensorDataset(torch.arange(n))
    epoch, seed = 3, 7
    batches = global_batches(n, batch, epoch, seed)
    for rank in range(world):
        loader = shard_loader(dataset, batch // world, rank, world, seed)
        loader.sampler.set_epoch(epoch)
        shards = [b[0].tolist() for b in loader]
        assert shards == [b[rank::world].tolist() for b in batches]


@pytest.mark.slow
def test_two_ranks_match_the_reference(tmp_path, one_thread):
    out, weights = tmp_path / "ddp.json", tmp_path / "ddp.pt"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "resnet_utils.ddp",
        "--num-epochs",
        "1",
        "--json",
        str(out),
        "--save",
        str(weights),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    ddp = json.loads(out.read_text())
    assert ddp["world_size"] == 2 and ddp["backend"] == "gloo" and ddp["distributed"]
    reference = train(CONFIG, shards=2)
    assert ddp["losses"] == pytest.approx(reference["losses"], abs=1e-5)
    state = torch.load(weights, weights_only=True)
    for name, value in reference["state_dict"].items():
        if not name.endswith(
            "num_batches_tracked"
        ):  # counted per forward: 1 per step per rank, 2 in the reference
            torch.testing.assert_close(state[name], value, atol=1e-5, rtol=1e-5)
    assert ddp["test_accuracy"] == pytest.approx(reference["test_accuracy"], abs=0.002)


def test_shards_change_only_batch_statistics(one_thread):
    """Two shards are not one batch: batch norm sees 32 images instead of 64, so the runs drift apart a little."""
    whole, halves = train(CONFIG, shards=1), train(CONFIG, shards=2)
    assert whole["losses"][0] != halves["losses"][0]
    assert whole["losses"][0] == pytest.approx(halves["losses"][0], abs=0.05)


def test_reference_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "ref.json"
    assert main(["--num-epochs", "1", "--shards", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (
        result["shards"] == 2 and not result["distributed"] and len(result["losses"]) == 898 // 64
    )
    assert "state_dict" not in result and "1 process, 2 shard(s)" in capsys.readouterr().out
    assert result["config"]["num_epochs"] == 1 and "torch" in result["versions"]
    assert result["losses"] == pytest.approx(train(CONFIG, shards=2)["losses"])


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--global-batch-size", "63", "--shards", "2"], "divisible"),
        (["--global-batch-size", "1000"], "at most the 898 training images"),
        (["--arch", "resnet21"], "arch"),
        (["--device", "tpu"], "device"),
    ],
)
def test_cli_bad_input_one_line(argv, word, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and word in err


def test_bad_config():
    with pytest.raises(ValueError, match="global_batch_size"):
        DDPConfig(global_batch_size=0)
    with pytest.raises(TypeError, match="DDPConfig"):
        train({"num_epochs": 1})
