"""resnet_utils.seeds: k seeds trained as one network against k separate fit runs."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from resnet_utils.data import load_digits, make_loaders
from resnet_utils.models import cifar_resnet
from resnet_utils.runtime import seed_everything
from resnet_utils.seeds import fit_seeds, stack_networks
from resnet_utils.train import TrainConfig, fit

# fp32 and a small learning rate: the grouped convolutions add up in another order than the
# separate ones, and a few steps keep that rounding difference small enough to compare.
CONFIG = TrainConfig(
    num_epochs=2, lr=0.02, weight_decay=1e-4, precision="fp32", device="cpu", progress=False
)


@pytest.fixture(scope="module")
def digits():
    # augmented, so that every copy's own stream of random numbers is exercised
    return load_digits(size=8, val_size=0.1, seed=0, augment=True)


def _builder(splits, residual=True):
    def build(seed):
        train_loader, val_loader, _ = make_loaders(splits, batch_size=128, seed=seed)
        seed_everything(seed)
        model = cifar_resnet(8, in_channels=1, width=4, residual=residual)
        return model, train_loader, val_loader

    return build


def _separately(build, seeds, config):
    runs = []
    for seed in seeds:
        model, train_loader, val_loader = build(seed)
        runs.append((model, fit(model, train_loader, val_loader, replace(config, seed=seed))))
    return runs


@pytest.mark.parametrize("residual", [True, False])  # PadShortcut (per copy) and a plain stack
def test_fit_seeds_equals_separate_fit_runs(digits, residual):
    build, seeds = _builder(digits, residual), [0, 1, 5]
    separate = _separately(build, seeds, CONFIG)
    models, histories = fit_seeds(build, seeds, CONFIG)
    assert len(models) == len(histories) == 3
    for (ref_model, ref), model, history in zip(separate, models, histories):
        for (key, a), b in zip(ref_model.state_dict().items(), model.state_dict().values()):
            if a.is_floating_point():  # weights and batch-norm statistics
                torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4, msg=key)
            else:
                assert torch.equal(a, b), key
        assert history.train_acc == pytest.approx(ref.train_acc, abs=2 / 728)
        assert history.val_acc == pytest.approx(ref.val_acc, abs=1 / 81)
        assert history.train_loss == pytest.approx(ref.train_loss, rel=1e-3)
        assert history.val_loss == pytest.approx(ref.val_loss, rel=1e-3)
        assert history.lr == pytest.approx(ref.lr)
    # the seeds give different runs (one shared model or data order would not)
    assert histories[0].train_loss != pytest.approx(histories[1].train_loss, rel=1e-3)


def test_fit_seeds_early_stopping_keeps_each_copys_best_epoch(digits):
    build, seeds = _builder(digits), [0, 3]
    config = replace(CONFIG, num_epochs=6, lr=0.5, patience=1)
    separate = _separately(build, seeds, config)
    models, histories = fit_seeds(build, seeds, config)
    assert any(h.num_epochs < config.num_epochs for h in histories), "no copy stopped early"
    for (ref_model, ref), model, history in zip(separate, models, histories):
        assert history.best_epoch == ref.best_epoch
        assert history.num_epochs == ref.num_epochs
        for a, b in zip(ref_model.parameters(), model.parameters()):
            torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3)


def test_stacked_network_computes_each_copy_in_train_and_eval_mode():
    torch.manual_seed(0)
    models = [cifar_resnet(14, in_channels=3, width=4) for _ in range(3)]
    stacked = stack_networks(models)
    X = torch.randn(5, 3, 3, 8, 8)  # (N, k, C, H, W)
    for mode in (True, False):
        stacked.train(mode)
        for m in models:
            m.train(mode)
        out = stacked(X)
        assert out.shape == (5, 3, 10)
        for i, m in enumerate(models):
            torch.testing.assert_close(out[:, i], m(X[:, i]), rtol=1e-4, atol=1e-5)


def test_unstack_into_round_trips_every_parameter_and_buffer():
    torch.manual_seed(0)
    models = [cifar_resnet(8, in_channels=1, width=4) for _ in range(2)]
    for m in models:  # batch-norm statistics of their own
        m(torch.randn(4, 1, 8, 8))
    stacked = stack_networks(models)
    torch.manual_seed(1)
    copies = [cifar_resnet(8, in_channels=1, width=4) for _ in range(2)]
    stacked.unstack_into(copies)
    for m, c in zip(models, copies):
        for (key, a), b in zip(m.state_dict().items(), c.state_dict().values()):
            assert torch.equal(a, b), key


def test_bad_arguments_are_named(digits):
    build = _builder(digits)
    with pytest.raises(ValueError, match="seeds must be a list of distinct seeds"):
        fit_seeds(build, [0, 0], CONFIG)
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        fit_seeds(build, [], CONFIG)
    with pytest.raises(ValueError, match=r"seeds\[1\]"):
        fit_seeds(build, [0, -1], CONFIG)
    with pytest.raises(TypeError, match="build must be callable"):
        fit_seeds("resnet20", [0], CONFIG)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit_seeds(build, [0], replace(CONFIG, checkpoint_dir="ckpt"))
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        fit_seeds(build, [0], {"lr": 0.1})
    with pytest.raises(ValueError, match=r"models\[1\] has another architecture"):
        stack_networks([cifar_resnet(8, in_channels=1), cifar_resnet(14, in_channels=1)])
    with pytest.raises(TypeError, match="cannot stack"):
        stack_networks([nn.Sequential(nn.Conv2d(1, 2, 3), nn.LayerNorm(2))] * 2)
