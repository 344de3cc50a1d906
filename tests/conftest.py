"""Shared fixtures: tests run on the CPU, single-threaded where it helps speed, offline."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.fixture
def one_thread():
    """One CPU thread, as each torchrun rank runs (OMP_NUM_THREADS=1): the same kernels and the
    same rounding as the processes a test compares with."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_splits():
    """A 2-class toy image problem (bright left half vs bright right half), 4x4 pixels."""
    from resnet_utils.data import DataSplits, ImageDataset

    g = torch.Generator().manual_seed(0)

    def make(n):
        y = torch.arange(n) % 2
        X = torch.rand(n, 1, 8, 8, generator=g) * 0.3
        X[y == 0, :, :, :4] += 0.7
        X[y == 1, :, :, 4:] += 0.7
        return ImageDataset(X, y, classes=["left", "right"])

    return DataSplits(
        train=make(64),
        val=make(32),
        test=make(32),
        classes=["left", "right"],
        mean=(0.5,),
        std=(0.3,),
        in_channels=1,
        image_size=8,
    )


def load_tool(name: str):
    """Import tools/<name>.py (not a package) as a module, for the tests of the tools."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module
