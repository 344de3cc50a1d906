"""Several seeds trained at once: k copies of a network as one network.

Chapters 2, 3 and 10. A claim such as "network A ends lower than network
B" needs several seeds and their spread. A small network can leave much of
the hardware idle: a step is a few hundred kernels on small tensors, and
part of its time is the overhead of launching them. :func:`fit_seeds`
trains k independently seeded copies of one recipe as a single computation,
so that the overhead is paid once per step instead of k times (the
arithmetic is not: k copies do k times the multiply-adds; chapter 10
measures what is left on the machine at hand):

- every ``nn.Conv2d`` becomes one convolution with ``groups`` multiplied
  by k: copy i's output channels see only copy i's input channels, so the
  arithmetic of each copy is its own (grouped convolutions, Krizhevsky et
  al. 2012; the same idea as ``torch.func.vmap`` over stacked weights,
  whose batching rule for convolutions turns them into ``groups``);
- every ``nn.BatchNorm2d`` becomes one over k times the channels: batch
  norm's statistics are per channel, so each copy keeps its own;
- every ``nn.Linear`` becomes a batched matrix product, one matrix per copy;
- the k batches, one from each copy's own loader, go side by side along the
  channel dimension: ``(N, C, H, W)`` x k -> ``(N, k*C, H, W)``.

The loss is the sum of the k losses; the copies share no parameter, so each
gradient is the one its copy would get alone, and SGD (momentum, weight
decay, the schedule) acts on each element by itself. Each copy also keeps
its own stream of random numbers for its data (shuffling, augmentation), so
``fit_seeds`` gives each seed the run ``fit`` would give it, within float
tolerance (grouped kernels add up in another order): the test compares them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from ._checks import check, check_as
from .models import PadShortcut
from .runtime import resolve_device, resolve_precision, seed_everything
from .step import TrainStep
from .train import (
    History,
    TrainConfig,
    check_fit_args,
    evaluate,
    make_optimizer,
    make_scheduler,
)

__all__ = ["StackedNetwork", "stack_networks", "fit_seeds"]

Build = Callable[[int], tuple[nn.Module, DataLoader, DataLoader | None]]


class StackedLinear(nn.Module):
    """k linear layers applied side by side: ``(N, k*in) -> (N, k*out)``."""

    def __init__(self, k: int, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.k, self.in_features, self.out_features = k, in_features, out_features
        self.weight = nn.Parameter(torch.empty(k, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(k, out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(len(x), self.k, self.in_features)  # (N, k, in)
        y = torch.einsum("nki,koi->nko", x, self.weight)  # (N, k, out)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(len(x), self.k * self.out_features)


class PerCopy(nn.Module):
    """A parameter-free module that mixes channels (zero-padding shortcut), run per copy."""

    def __init__(self, k: int, module: nn.Module) -> None:
        super().__init__()
        self.k, self.module = k, module

    def forward(self, x: Tensor) -> Tensor:
        n, kc, h, w = x.shape
        y = self.module(x.reshape(n * self.k, kc // self.k, h, w))  # (N*k, C, H, W)
        return y.reshape(n, -1, *y.shape[2:])


def _has_state(module: nn.Module) -> bool:
    """Whether ``module`` holds parameters or buffers of its own (not its children's)."""
    return any(True for _ in module.parameters(recurse=False)) or any(
        True for _ in module.buffers(recurse=False)
    )


def _stack_leaf(k: int, module: nn.Module) -> nn.Module | None:
    """The stacked counterpart of one leaf module (weights filled in later); None: cannot."""
    if isinstance(module, nn.Conv2d):
        return nn.Conv2d(
            k * module.in_channels,
            k * module.out_channels,
            module.kernel_size,
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            groups=k * module.groups,
            bias=module.bias is not None,
            padding_mode=module.padding_mode,
        )
    if type(module) is nn.BatchNorm2d:
        return nn.BatchNorm2d(
            k * module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats,
        )
    if isinstance(module, nn.Linear):
        return StackedLinear(k, module.in_features, module.out_features, module.bias is not None)
    if isinstance(module, PadShortcut):
        return PerCopy(k, module)
    return None if _has_state(module) else module


class StackedNetwork(nn.Module):
    """k copies of one architecture as one network: ``(N, k, C, H, W) -> (N, k, classes)``.

    Built by :func:`stack_networks` from k models with their own weights;
    :meth:`unstack_into` copies the trained weights back.
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        self.k = len(models)
        self.net = copy.deepcopy(models[0])
        for name, module in list(self.net.named_modules()):
            container = any(True for _ in module.children())
            stacked = None if container else _stack_leaf(self.k, module)
            if (container and _has_state(module)) or (not container and stacked is None):
                raise TypeError(
                    f"models: cannot stack {name or 'the model'} ({type(module).__name__}); "
                    "fit_seeds stacks Conv2d, BatchNorm2d, Linear, modules without parameters "
                    "and containers of them"
                )
            if not container and name:
                parent, _, attr = name.rpartition(".")
                owner = self.net.get_submodule(parent) if parent else self.net
                setattr(owner, attr, stacked)
            elif not container:
                self.net = stacked
        self._pairs = [  # (name, stacked leaf) of every leaf that holds state
            (name, m) for name, m in self.net.named_modules() if isinstance(m, _STATEFUL)
        ]
        with torch.no_grad():
            for name, target in self._pairs:
                parts = [m.get_submodule(name) for m in models]
                for key, value in target.named_parameters(recurse=False):
                    value.copy_(self._join(target, [getattr(p, key) for p in parts]))
                for key, value in target.named_buffers(recurse=False):
                    if key == "num_batches_tracked":
                        value.copy_(getattr(parts[0], key))
                    else:
                        value.copy_(self._join(target, [getattr(p, key) for p in parts]))

    def _join(self, target: nn.Module, parts: list[Tensor]) -> Tensor:
        return torch.stack(parts) if isinstance(target, StackedLinear) else torch.cat(parts)

    def _part(self, target: nn.Module, value: Tensor, i: int) -> Tensor:
        if isinstance(target, StackedLinear) or value.ndim == 0:
            return value[i] if value.ndim else value
        size = len(value) // self.k  # copy i's output channels (or features)
        return value[i * size : (i + 1) * size]

    @torch.no_grad()
    def unstack_into(self, models: Sequence[nn.Module]) -> None:
        """Copy copy i's parameters and buffers (batch-norm statistics) into ``models[i]``."""
        for name, target in self._pairs:
            for i, model in enumerate(models):
                module = model.get_submodule(name)
                for key, value in module.named_parameters(recurse=False):
                    value.copy_(self._part(target, getattr(target, key), i))
                for key, value in module.named_buffers(recurse=False):
                    value.copy_(self._part(target, getattr(target, key), i))

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[:2]  # X: (N, k, C, H, W), copy i's batch in X[:, i]
        out = self.net(X.reshape(n, k * X.shape[2], *X.shape[3:]))  # (N, k*classes)
        return out.reshape(n, k, -1)


_STATEFUL = (nn.Conv2d, nn.BatchNorm2d, StackedLinear)


def stack_networks(models: Sequence[nn.Module]) -> StackedNetwork:
    """k models of one architecture, each with its own weights, as one :class:`StackedNetwork`."""
    models = check_as("networks", "models", models)
    first = [(key, tuple(v.shape)) for key, v in models[0].state_dict().items()]
    for i, m in enumerate(models[1:], 1):
        if [(key, tuple(v.shape)) for key, v in m.state_dict().items()] != first:
            raise ValueError(
                f"models[{i}] has another architecture than models[0] "
                "(other state-dict keys or shapes): only copies of one network stack"
            )
    return StackedNetwork(models)


class _Streams:
    """One stream of random numbers per copy (Python, NumPy, torch's CPU generator).

    A copy's loader draws its shuffling and augmentation from the global
    generators, as it would in a run of its own; :meth:`of` swaps the copy's
    states in around each of its draws.
    """

    def __init__(self, seeds: Sequence[int]) -> None:
        self.states = []
        for seed in seeds:
            seed_everything(seed)  # what fit does first
            self.states.append(self._get())

    @staticmethod
    def _get() -> tuple[Any, Any, Tensor]:
        return random.getstate(), np.random.get_state(), torch.get_rng_state()

    @staticmethod
    def _set(state: tuple[Any, Any, Tensor]) -> None:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.set_rng_state(state[2])

    @contextlib.contextmanager
    def of(self, i: int) -> Iterator[None]:
        outside = self._get()
        self._set(self.states[i])
        try:
            yield
        finally:
            self.states[i] = self._get()
            self._set(outside)


def fit_seeds(
    build: Build,
    seeds: Sequence[int],
    config: TrainConfig | None = None,
) -> tuple[list[nn.Module], list[History]]:
    """Train one recipe with each of ``seeds`` at once; return the k models and k histories.

    Args:
        build: ``build(seed)`` returns ``(model, train_loader, val_loader)``
            (``val_loader`` may be None) as a run with that seed builds them:
            the model initialised from the seed, the loaders shuffling with
            it. Every model must have the same architecture and every
            training loader the same number and sizes of batches.
        seeds: the seeds, one copy each (at least one, no repeats).
        config: how to train, as for :func:`~resnet_utils.train.fit`;
            ``config.seed`` is replaced by each seed. Checkpoints, resume,
            callbacks and the progress bar are :func:`fit`'s alone
            (``config.progress`` is ignored).

    Seed i's model and history are those of ``model, tl, vl = build(seed)``
    then ``fit(model, tl, vl, replace(config, seed=seed))``, within float
    tolerance. With early stopping (``config.patience``) each copy keeps its
    own best epoch and its history ends where its own run would have
    stopped; the stack trains until every copy has stopped.
    """
    config = config if config is not None else TrainConfig()
    _, seeds = check(build=build, seeds=seeds)
    models, train_loaders, val_loaders = [], [], []
    for seed in seeds:
        built = build(seed)
        if not isinstance(built, tuple) or len(built) != 3:
            raise TypeError("build(seed) must return (model, train_loader, val_loader)")
        model, train_loader, val_loader = built
        check_fit_args(model, train_loader, val_loader, config)  # the config's type too
        models.append(model)
        train_loaders.append(train_loader)
        val_loaders.append(val_loader)
    steps = len(train_loaders[0])
    if any(len(loader) != steps for loader in train_loaders) or config.checkpoint_dir:
        raise ValueError(
            "config.checkpoint_dir: fit_seeds keeps no checkpoints; train one seed with fit"
            if config.checkpoint_dir
            else "build(seed)'s train loaders must have the same number of batches, got "
            f"{[len(loader) for loader in train_loaders]}"
        )

    k = len(seeds)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    for model in models:
        model.to(device=device, memory_format=memory_format)
    streams = _Streams(seeds)
    stacked = stack_networks(models).to(device=device, memory_format=memory_format)
    batch_losses: list[Tensor] = []

    def loss_fn(logits: Tensor, y: Tensor) -> Tensor:  # logits (N, k, classes), y (N, k)
        per = F.cross_entropy(
            logits.transpose(1, 2), y, reduction="none", label_smoothing=config.label_smoothing
        )  # (N, k)
        batch_losses.append(per.detach().mean(0))  # each copy's loss on its batch
        return per.mean(0).sum()  # the copies share no weight: each gets its own gradient

    optimizer = make_optimizer(stacked, config)
    step = TrainStep(
        stacked,
        optimizer,
        device=device,
        precision=precision,
        loss_fn=loss_fn,
        scheduler=make_scheduler(optimizer, config, steps),
    )
    histories = [History() for _ in seeds]
    best: list[dict[str, Any]] = [{"loss": math.inf, "state": None} for _ in seeds]
    stopped = [False] * k
    for epoch in range(config.num_epochs):
        t0 = time.perf_counter()
        stacked.train()
        iterators = []
        for i, loader in enumerate(train_loaders):
            with streams.of(i):
                iterators.append(iter(loader))
        total, correct, n = torch.zeros(k, dtype=torch.float64), torch.zeros(k), 0
        for _ in range(steps):
            batches = []
            for i, it in enumerate(iterators):
                with streams.of(i):
                    batches.append(next(it))
            sizes = sorted({len(y) for _, y in batches})
            if len(sizes) != 1:
                raise ValueError(
                    "build(seed)'s train loaders must give batches of one size at each step, "
                    f"got {sizes}: use the same training set size for every seed"
                )
            X = torch.stack([X for X, _ in batches], 1)  # (N, k, C, H, W)
            y = torch.stack([y for _, y in batches], 1)  # (N, k)
            if config.channels_last:  # the layout of the (N, k*C, H, W) the network sees
                X = X.flatten(1, 2).contiguous(memory_format=memory_format).unflatten(1, (k, -1))
            batch_losses.clear()
            _, logits = step(X, y)
            total += batch_losses[0].double().cpu() * len(y)
            correct += (logits.argmax(dim=2).cpu() == y).sum(0)
            n += len(y)
        train_loss = (total / n).tolist()
        for i, seed in enumerate(seeds):
            if not stopped[i] and not math.isfinite(train_loss[i]):
                raise FloatingPointError(
                    f"the training loss of seed {seed} became {train_loss[i]} in epoch "
                    f"{epoch + 1}: lr={config.lr} is probably too high"
                )
        stacked.unstack_into(models)
        seconds = time.perf_counter() - t0
        for i in range(k):
            if stopped[i]:
                continue
            val_loss, val_acc = math.nan, math.nan
            if val_loaders[i] is not None:
                with streams.of(i):  # iter(loader) draws a seed from the global generator
                    val_loss, val_acc = evaluate(
                        models[i], val_loaders[i], device, precision, config.channels_last
                    )
            histories[i].append(
                train_loss=train_loss[i],
                train_acc=correct[i].item() / n,
                val_loss=val_loss,
                val_acc=val_acc,
                lr=optimizer.param_groups[-1]["lr"],
                seconds=seconds,
            )
            if config.patience is not None:
                if val_loss < best[i]["loss"]:
                    state = {key: v.detach().clone() for key, v in models[i].state_dict().items()}
                    best[i] = {"loss": val_loss, "state": state}
                    histories[i].best_epoch = epoch + 1
                kept = histories[i].best_epoch
                stopped[i] = kept is not None and epoch + 1 - kept >= config.patience
        if all(stopped):
            break
    for model, b in zip(models, best):
        if b["state"] is not None:
            model.load_state_dict(b["state"])  # early stopping keeps the best epoch's weights
    return models, histories
