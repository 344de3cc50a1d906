"""resnet_utils.runtime: device names and seeding."""

import os
import random

import numpy as np
import pytest
import torch

from resnet_utils.runtime import resolve_device, seed_everything, versions


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert resolve_device("auto").type == "cuda"
    elif not (torch.backends.mps.is_available()):
        assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu", "cuda:x", ""])
def test_unknown_device_names(bad):
    with pytest.raises(ValueError, match="device"):
        resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_device_type_error():
    with pytest.raises(TypeError, match="device"):
        resolve_device(0)


def test_seed_everything_repeats_all_generators():
    def draw():
        g = seed_everything(7)
        return (
            random.random(),
            np.random.rand(),
            torch.rand(1).item(),
            torch.rand(1, generator=g).item(),
        )

    assert draw() == draw()
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_versions():
    v = versions()
    assert v["torch"] == torch.__version__ and set(v) >= {"python", "torchvision", "executed"}


def test_stamp_names_versions_and_date():
    import torchvision

    import resnet_utils
    from resnet_utils.runtime import stamp

    text = stamp().data
    assert f"resnet_utils {resnet_utils.__version__}" in text
    assert (
        torch.__version__ in text
        and torchvision.__version__ in text
        and versions()["executed"] in text
    )


def test_quiet_native_stderr_silences_fd2_and_restores_it(capfd):
    from resnet_utils.runtime import quiet_native_stderr

    os.write(2, b"before\n")
    with quiet_native_stderr():
        os.write(2, b"hidden\n")  # what C++ code does
    os.write(2, b"after\n")
    with pytest.raises(RuntimeError):
        with quiet_native_stderr():
            raise RuntimeError("boom")
    os.write(2, b"still here\n")
    err = capfd.readouterr().err
    assert "before" in err and "after" in err and "still here" in err and "hidden" not in err


def _cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them ("flags" on x86, "Features" on ARM)."""
    from pathlib import Path

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo on this system")
    for line in text.splitlines():
        if line.startswith(("flags", "Features")) and ":" in line:
            return set(line.split(":", 1)[1].split())
    pytest.skip("/proc/cpuinfo lists no CPU flags")


def test_bf16_supported_on_the_cpu_agrees_with_the_cpu_flags():
    import platform

    from resnet_utils.runtime import bf16_supported

    flags, supported = _cpu_flags(), bf16_supported("cpu")
    assert type(supported) is bool
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        # bf16 instructions; oneDNN also runs bf16 kernels on any AVX-512 CPU, converting each
        # product to fp32, which bf16_supported does not count
        native = bool(flags & {"amx_bf16", "avx512_bf16"})
        if torch.backends.mkldnn.is_available():
            assert supported == native, f"bf16 instructions: {native}; bf16_supported: {supported}"
        return
    if machine not in ("aarch64", "arm64"):
        pytest.skip(f"no rule for the flags of a {machine} CPU")
    native = "bf16" in flags
    if native and torch.backends.mkldnn.is_available():
        assert supported, "this CPU has bf16 instructions"
    if not native:
        assert not supported, "this CPU has no bf16 instructions"


@pytest.mark.parametrize(
    ("onednn", "avx512_bf16", "amx", "expected"),
    [
        (True, False, False, False),  # AVX-512 without bf16 instructions (Skylake, Ice Lake)
        (True, True, False, True),  # Zen 4/5, Cooper Lake
        (True, False, True, True),  # Sapphire Rapids and later (AMX)
        (False, False, False, False),  # AVX2 only
    ],
)
def test_bf16_supported_on_x86_needs_bf16_instructions(
    monkeypatch, onednn, avx512_bf16, amx, expected
):
    from resnet_utils import runtime

    monkeypatch.delenv(runtime.PRECISION_ENV, raising=False)
    monkeypatch.setattr(runtime.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn)
    # raising=False: a torch without these private queries (2.4) gets them for the test
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert runtime.bf16_supported("cpu") is expected
    assert runtime.resolve_precision("auto", "cpu") == ("bf16" if expected else "fp32")


def test_precision_env_decides_what_auto_means(monkeypatch):
    from resnet_utils import runtime

    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    monkeypatch.delenv(runtime.PRECISION_ENV, raising=False)
    assert runtime.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setenv(runtime.PRECISION_ENV, "fp32")
    assert runtime.resolve_precision("auto", "cpu") == "fp32"
    assert runtime.resolve_precision("bf16", "cpu") == "bf16"  # an explicit choice stays
    monkeypatch.setenv(runtime.PRECISION_ENV, " BF16 ")
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: False)
    assert runtime.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setenv(runtime.PRECISION_ENV, "fp16")  # checked like an explicit fp16
    with pytest.raises(ValueError, match="fp16.*needs a CUDA device"):
        runtime.resolve_precision("auto", "cpu")
    monkeypatch.setenv(runtime.PRECISION_ENV, "fp64")
    with pytest.raises(ValueError, match="RESNET_UTILS_PRECISION must be one of"):
        runtime.resolve_precision("auto", "cpu")
    monkeypatch.setenv(runtime.PRECISION_ENV, "")  # empty: as if unset
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    assert runtime.resolve_precision("auto", "cpu") == "bf16"
