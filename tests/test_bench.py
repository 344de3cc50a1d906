"""resnet_utils.bench: FLOP counts against torchvision's metadata, the interleaved measurement, the CLI."""

import itertools
import json
import statistics

import pytest
import torch
import torchvision

from resnet_utils import bench
from resnet_utils.bench import (
    BenchConfig,
    Runner,
    benchmark,
    format_table,
    forward_flops,
    matmul_peak,
)
from resnet_utils.cli.bench import main
from resnet_utils.models import resnet18

TINY = dict(
    models=("resnet8",),
    modes=("fp32", "bf16"),
    batch_size=4,
    image_size=16,
    steps=1,
    warmup=0,
    repeats=3,
    peak_size=64,
    device="cpu",
)


def test_forward_flops_match_torchvision_metadata():
    # torchvision publishes GFLOPS (multiply-adds, in its convention) for its weights; we count a multiply-add as 2
    ops = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]
    flops = forward_flops(resnet18(), (1, 3, 224, 224))
    assert flops / 2 / 1e9 == pytest.approx(ops, rel=0.01)


def test_matmul_peak_is_the_faster_of_mm_and_the_1x1_convolution(monkeypatch):
    """The arithmetic, with the timer replaced: 2 n^3 FLOPs for mm, 2 m n^2 for the 1x1
    convolution on a side x side image (m = side^2 ~ n), the peak the larger rate."""
    timed = []

    def fake_median_seconds(fn, device="cpu", repeats=5, inner=1):
        fn()  # the product is computed (shapes checked by torch)
        timed.append((repeats, inner))
        return [0.5, 0.25][len(timed) - 1]  # mm, then the convolution

    monkeypatch.setattr(bench, "median_seconds", fake_median_seconds)
    n = 100  # side 10, m = 100
    detail = matmul_peak("cpu", torch.float32, n, repeats=3, detail=True)
    assert detail == {"mm": 2 * n**3 / 0.5, "conv1x1": 2 * 100 * n * n / 0.25, "peak": 8e6}
    assert timed == [(3, int(1e9 // (2 * n**3)))] * 2  # ~1 GFLOP of calls per timing on a CPU
    timed.clear()
    assert matmul_peak("cpu", torch.float32, n, repeats=3) == 8e6


def test_runner_train_step_updates_the_model(monkeypatch):
    runner = Runner("resnet8", "bf16+channels_last", (4, 3, 16, 16), torch.device("cpu"))
    before = runner.model.conv1.weight.detach().clone()
    clock = itertools.chain([10.0], itertools.repeat(12.0))  # two seconds for the two steps
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    assert runner.images_per_second("train", 2) == 2 * 4 / 2.0
    assert not torch.equal(before, runner.model.conv1.weight)
    assert runner.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_benchmark_reports_medians_of_interleaved_repeats(monkeypatch):
    calls = []
    original = Runner.images_per_second

    def spy(self, kind, steps):
        calls.append((self.mode, kind))
        return original(self, kind, steps)

    monkeypatch.setattr(Runner, "images_per_second", spy)
    report = benchmark(BenchConfig(**TINY))
    # every configuration once per repeat, in the same order: interleaved
    one_round = [("fp32", "train"), ("fp32", "infer"), ("bf16", "train"), ("bf16", "infer")]
    assert calls == one_round * 3
    assert [r["mode"] for r in report["results"]] == ["fp32", "bf16"]
    for r in report["results"]:
        assert len(r["train_samples"]) == 3
        assert r["train_images_per_s"] == statistics.median(r["train_samples"])
        assert r["infer_images_per_s"] == statistics.median(r["infer_samples"])
        flops = r["forward_flops_per_image"] * 3 * r["train_images_per_s"]
        assert r["train_flops_per_s"] == pytest.approx(flops)
        assert r["fraction_of_peak"] == pytest.approx(
            flops / report["matmul_peak_flops_per_s"][r["precision"]]
        )
    assert report["results"][0]["train_speedup_vs_fp32"] == 1.0
    table = format_table(report)
    assert table.count("| resnet8 |") == 2 and "matmul peak" in table


def test_cli_writes_json_and_table(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "--models",
                "resnet8",
                "--modes",
                "fp32",
                "channels_last",
                "--batch-size",
                "4",
                "--image-size",
                "16",
                "--steps",
                "1",
                "--warmup",
                "0",
                "--repeats",
                "2",
                "--peak-size",
                "64",
                "--device",
                "cpu",
                "--quiet",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert [r["mode"] for r in report["results"]] == ["fp32", "channels_last"]
    assert "| resnet8 | channels_last |" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--modes", "int8"], "modes"),
        (["--models", "resnet21"], "models"),
        (["--modes", "fp16", "--device", "cpu"], "fp16"),
    ],
)
def test_cli_bad_input_one_line(argv, word, capsys):
    assert main(argv + ["--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.count("\n") == 0
        and word in err
        and err.startswith("python -m resnet_utils.bench: error:")
    )


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"steps": 0}, "steps"),
        ({"repeats": 0}, "repeats"),
        ({"batch_size": 0}, "batch_size"),
        ({"models": ()}, "models"),
    ],
)
def test_config_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        BenchConfig(**kwargs)


def test_model_names_are_checked_by_the_registry():
    BenchConfig(models=("resnet20", "resnet110", "resnet50", "torchvision_resnet18"))
    for name in ("resnet21", "plain18x", "vgg11", "torchvision_resnet50"):
        with pytest.raises(ValueError, match=r"models\[0\] must be one of"):
            BenchConfig(models=(name,))


def test_median_seconds_takes_the_median_of_repeats_of_inner_calls(monkeypatch):
    from types import SimpleNamespace

    from torch.utils.benchmark import Timer

    numbers, means = [], iter([0.03, 0.001, 0.002])

    def timeit(self, number):
        numbers.append(number)
        return SimpleNamespace(mean=next(means))

    monkeypatch.setattr(Timer, "timeit", timeit)
    seconds = bench.median_seconds(lambda: None, "cpu", repeats=3, inner=4)
    assert numbers == [4, 4, 4] and seconds == 0.002  # the median; the mean would be 11 ms


def test_median_seconds_times_with_torchs_threads():
    threads = torch.get_num_threads()
    seen = []
    torch.set_num_threads(2)  # torch.utils.benchmark.Timer would use 1
    try:
        bench.median_seconds(lambda: seen.append(torch.get_num_threads()), "cpu", repeats=2)
    finally:
        torch.set_num_threads(threads)
    assert seen and set(seen) == {2}


def test_median_seconds_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        bench.median_seconds(lambda: None, "cpu", repeats=0)
    with pytest.raises(ValueError, match="inner"):
        bench.median_seconds(lambda: None, "cpu", inner=0)
    with pytest.raises(TypeError, match="fn"):
        bench.median_seconds(42, "cpu")
