"""The package's DataLoader path under the ``spawn`` start method (macOS, Windows).

Linux forks DataLoader workers; macOS and Windows spawn them, which pickles
the dataset, its transforms and ``worker_init_fn`` and re-imports the
package in each worker. Something that only fork tolerates (a lambda, a
local class, an unpicklable transform) breaks learners there and nowhere
in a Linux CI. So run it here: a script that sets ``spawn``, builds the
digits loaders with augmentation and two workers, and reads every batch of
an epoch, twice (the same seed must give the same batches).
"""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp

    import torch

    from resnet_utils.data import load_digits, make_loaders


    def epoch(seed):
        splits = load_digits(size=16, val_size=0.1, seed=seed, augment=True)
        train, val, _ = make_loaders(splits, batch_size=64, seed=seed, num_workers=2)
        return [X.sum().item() for X, _ in train] + [len(X) for X, _ in val]


    if __name__ == "__main__":
        mp.set_start_method("spawn")
        assert torch.multiprocessing.get_start_method() == "spawn"
        a, b = epoch(0), epoch(0)
        assert a == b, "the same seed gave other batches under spawn"
        print("spawn ok", len(a))
    """
)


@pytest.mark.slow
def test_loaders_with_workers_under_spawn(tmp_path):
    script = tmp_path / "spawn_loaders.py"
    script.write_text(SCRIPT)
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "spawn ok" in run.stdout
