"""resnet_utils.bench: FLOP counts against torchvision's metadata, the interleaved measurement, the CLI."""

import json
import statistics
import time

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


@pytest.fixture
def one_thread():
    """One CPU thread while timing: with two or more, a core busy elsewhere stalls every call."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mm_flops_by_hand(n, calls, blocks=3):
    """FLOP/s of torch.mm on n x n matrices, timed with a plain loop (median of the blocks)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(calls):
            torch.mm(a, b)
        times.append((time.perf_counter() - t0) / calls)
    return 2 * n**3 / statistics.median(times)


@pytest.mark.slow
def test_matmul_peak_agrees_with_an_independent_timing_of_mm(one_thread):
    n = 256
    detail = matmul_peak("cpu", torch.float32, n, repeats=3, detail=True)
    assert set(detail) == {"mm", "conv1x1", "peak"}
    assert detail["peak"] == max(detail["mm"], detail["conv1x1"])
    assert isinstance(matmul_peak("cpu", torch.float32, 64, repeats=1), float)
    # interleaved, and the best of three each: a busy machine only ever makes a rate lower
    ours, by_hand = [detail["mm"]], []
    for i in range(3):
        if i:
            ours.append(matmul_peak("cpu", torch.float32, n, repeats=3, detail=True)["mm"])
        by_hand.append(_mm_flops_by_hand(n, calls=int(1e9 // (2 * n**3))))
    assert 1 / 3 < max(ours) / max(by_hand) < 3, (ours, by_hand)


def test_runner_train_step_updates_the_model():
    runner = Runner("resnet8", "bf16+channels_last", (4, 3, 16, 16), torch.device("cpu"))
    before = runner.model.conv1.weight.detach().clone()
    assert runner.images_per_second("train", 2) > 0
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


@pytest.mark.slow  # timing-sensitive: a busy machine can slow one model more than the other
def test_parity_with_torchvision_resnet18():
    """Our ResNet-18 is the same network as torchvision's: it must train at the same speed (no extra overhead).

    Noise only ever adds time, so compare the fastest of 9 interleaved repeats (order alternating),
    not the medians, which a busy CI machine can skew.
    """
    device = torch.device("cpu")
    runners = {
        "ours": Runner("resnet18", "fp32", (16, 3, 64, 64), device),
        "theirs": Runner("torchvision_resnet18", "fp32", (16, 3, 64, 64), device),
    }
    for r in runners.values():
        r.train_step()
    times = {"ours": [], "theirs": []}
    for i in range(9):
        for name in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
            times[name].append(1 / runners[name].images_per_second("train", 2))
    ratio = min(times["ours"]) / min(times["theirs"])
    assert ratio < 1.15, f"our resnet18 step takes {ratio:.2f}x torchvision's: {times}"


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
        with pytest.raises(ValueError, match="unknown model"):
            BenchConfig(models=(name,))


def _median_seconds_by_hand(fn, repeats=5, inner=1):
    """The hand-written loop that median_seconds replaced (on the CPU), kept as its oracle."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


@pytest.mark.slow
def test_median_seconds_of_a_known_sleep():
    seconds = bench.median_seconds(lambda: time.sleep(0.02), "cpu", repeats=3, inner=2)
    assert 0.0199 < seconds < 0.035  # a sleep lasts at least its time; a busy machine adds some


@pytest.mark.slow
def test_median_seconds_agrees_with_the_hand_written_loop(one_thread):
    x, w = torch.randn(8, 16, 32, 32), torch.randn(32, 16, 3, 3)
    fn = lambda: torch.nn.functional.conv2d(x, w, padding=1)
    ours, by_hand = [], []
    for _ in range(3):  # interleaved; the fastest of each, since noise only adds time
        ours.append(bench.median_seconds(fn, "cpu", repeats=5, inner=3))
        by_hand.append(_median_seconds_by_hand(fn, repeats=5, inner=3))
    assert 1 / 2 < min(ours) / min(by_hand) < 2, (ours, by_hand)


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
