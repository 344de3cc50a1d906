"""Fine-tuning: start from pretrained weights, adapt to a new task with few labels.

Chapter 9. Loading torchvision's ImageNet weights into our models (through
torch hub's cache, so it works offline once the file is there), replacing
the classifier head, freezing the backbone for a linear probe, and
discriminative learning rates for full fine-tuning. The chapter's main
experiment, also ``python -m resnet_utils.finetune`` (:mod:`resnet_utils.cli.finetune`),
pretrains a ResNet on the unlabelled training half of the digits
(contrastive, with nearest-neighbour partners: :mod:`resnet_utils.pretrain`), then compares training from
scratch, a linear probe and full fine-tuning with 1, 3 and 10 labelled images
per class, on the 899 test digits.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m resnet_utils.finetune runs the command line only: the
    from resnet_utils.cli.finetune import main  # module itself is imported once, by the command

    raise SystemExit(main())

import copy
import math
import os
import pickle
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._checks import check, check_as, check_fields
from .checkpoint import load_checkpoint, save_checkpoint
from .models import build_model, freeze_batch_norm

__all__ = [
    "IMAGENET_WEIGHTS",
    "hub_checkpoint_path",
    "load_pretrained",
    "save_pretrained",
    "replace_head",
    "freeze_backbone",
    "param_groups",
    "TransferConfig",
    "pretrain_digits",
    "transfer_experiment",
]

FORMAT = "resnet_utils.pretrained/1"


def _imagenet_weights() -> dict[str, Any]:
    from torchvision.models import ResNet18_Weights, ResNet34_Weights, ResNet50_Weights

    return {
        "resnet18": ResNet18_Weights.IMAGENET1K_V1,
        "resnet34": ResNet34_Weights.IMAGENET1K_V1,
        "resnet50": ResNet50_Weights.IMAGENET1K_V1,
    }


IMAGENET_WEIGHTS = ("resnet18", "resnet34", "resnet50")


def hub_checkpoint_path(arch: str) -> Path:
    """Where torch hub caches the ImageNet weights of ``arch`` (``$TORCH_HOME/hub/checkpoints``)."""
    weights = _imagenet_weights()
    if arch not in weights:
        raise ValueError(f"ImageNet weights exist for {list(weights)}, not for arch={arch!r}")
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights[arch].url)


def load_pretrained(
    arch: str, weights: str | None = "imagenet", checkpoint: str | os.PathLike | None = None
) -> nn.Module:
    """A model of ``arch`` with pretrained weights.

    - ``checkpoint=PATH``: weights saved by :func:`save_pretrained` (any arch
      of :func:`~resnet_utils.models.build_model`); the file's arch must match.
    - otherwise ``weights="imagenet"``: torchvision's ``IMAGENET1K_V1`` weights
      for ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``, loaded through
      torch hub (downloaded once, about 45-100 MB, then read from the cache
      even offline) into :mod:`resnet_utils.models`' ResNet, key for key.

    All files are read with ``weights_only=True``.
    """
    check(arch=arch)
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)  # FileNotFoundError / ValueError with the path
        if state.get("format") != FORMAT or state["arch"] != arch:
            raise ValueError(
                f"checkpoint {str(checkpoint)!r} is not a {arch!r} saved by save_pretrained "
                f"(format {state.get('format')!r}, arch {state.get('arch')!r})"
            )
        model = build_model(
            arch,
            num_classes=state["num_classes"],
            in_channels=state["in_channels"],
            width=state["width"],
        )
        model.load_state_dict(state["model"])
        return model
    if weights != "imagenet":
        raise ValueError(f"weights must be 'imagenet' (or pass checkpoint=PATH), got {weights!r}")
    table = _imagenet_weights()
    hub_checkpoint_path(arch)  # a clear error for an arch without ImageNet weights
    try:
        state = table[arch].get_state_dict(progress=True, check_hash=True, weights_only=True)
    except (OSError, ValueError) as err:  # URLError is an OSError
        raise FileNotFoundError(
            f"ImageNet weights for {arch} are not in the torch hub cache ({hub_checkpoint_path(arch)}) and "
            f"could not be downloaded ({type(err).__name__}: {err}). Connect to the internet once, or copy "
            f"{os.path.basename(table[arch].url)} from {table[arch].url} into that folder."
        ) from err
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"the cached ImageNet weights for {arch} at {hub_checkpoint_path(arch)} are corrupted "
            f"({str(err).splitlines()[0]}); delete the file to download it again"
        ) from err
    model = build_model(arch, num_classes=1000)
    model.load_state_dict(state)
    return model


def save_pretrained(
    model: nn.Module, path: str | os.PathLike, arch: str, in_channels: int, width: int = 16
) -> None:
    """Save ``model``'s weights with what :func:`load_pretrained` needs to rebuild it."""
    check_as("classifier", "model", model)
    check(arch=arch, in_channels=in_channels, width=width)
    save_checkpoint(
        path,
        {
            "format": FORMAT,
            "arch": arch,
            "num_classes": model.fc.out_features,
            "in_channels": in_channels,
            "width": width,
            "model": model.state_dict(),
        },
    )


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` a new, randomly initialised ``fc`` with ``num_classes`` outputs (in place)."""
    check_as("classifier", "model", model)
    check(num_classes=num_classes)
    model.fc = nn.Linear(model.fc.in_features, num_classes).to(model.fc.weight.device)
    return model


def freeze_backbone(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which only ``fc`` trains, batch-norm statistics frozen too.

    Setting ``requires_grad=False`` is not enough: in training mode every
    ``BatchNorm2d`` still replaces its running mean and variance with those
    of the (few, small) training batches, so the features the head learns
    on drift away from the pretrained ones. In the copy, every batch norm is
    therefore a ``FrozenBatchNorm2d`` holding the same statistics
    (:func:`resnet_utils.models.freeze_batch_norm`), as torchvision does for
    detection backbones.
    """
    check_as("classifier", "model", model)
    frozen = freeze_batch_norm(copy.deepcopy(model))
    for name, p in frozen.named_parameters():
        p.requires_grad = name.startswith("fc.")
    return frozen


def param_groups(model: nn.Module, backbone_lr: float, head_lr: float) -> list[dict[str, Any]]:
    """Optimizer groups with a smaller learning rate for the pretrained backbone than for the new head."""
    check_as("classifier", "model", model)
    check(backbone_lr=backbone_lr, head_lr=head_lr)
    head = [p for n, p in model.named_parameters() if n.startswith("fc.") and p.requires_grad]
    backbone = [
        p for n, p in model.named_parameters() if not n.startswith("fc.") and p.requires_grad
    ]
    groups = [{"params": head, "lr": head_lr}]
    if backbone and backbone_lr > 0:
        groups.insert(0, {"params": backbone, "lr": backbone_lr})
    return groups


# --------------------------------------------------------------------------------------
# The chapter's experiment


@dataclass
class TransferConfig:
    """The transfer experiment: pretraining, then three ways to use few labels.

    The defaults are the command line's; chapter 9 uses them, except 100 downstream
    steps instead of 150 to stay within a minute on a CPU (its parameters cell).
    """

    arch: str = "resnet14"  # CIFAR-family ResNet (6n+2)
    width: int = 16
    image_size: int = 16  # digits resized from 8x8
    labels_per_class: tuple[int, ...] = (1, 3, 10)
    pretrain_epochs: int = 15
    # contrastive partners: one of each image's k nearest neighbours; 0: the image itself
    neighbours: int = 10
    steps: int = 150  # optimizer steps for each downstream run, whatever the number of labels
    # peak learning rate of the head (and of everything when training from scratch)
    lr: float = 0.05
    backbone_lr_factor: float = 0.1  # fine-tuning: the backbone learns this much slower
    seed: int = 0
    device: str = "auto"
    # or "bf16" / "fp16" / "auto" (bf16 where fast), for every run (chapter 10)
    precision: str = "fp32"
    channels_last: bool = False
    progress: bool = False

    def __post_init__(self) -> None:
        check_fields(self)  # each field by its rule in resnet_utils._checks.RULES
        self.labels_per_class = tuple(self.labels_per_class)


def _downstream(
    model: nn.Module,
    train_set,
    test_loader,
    config: TransferConfig,
    groups: list[dict[str, Any]] | None,
) -> float:
    """Train ``model`` for ``config.steps`` steps on the few labels; return its test accuracy."""
    from .data import SeededDataLoader
    from .train import TrainConfig, evaluate, fit

    loader = SeededDataLoader(
        train_set,
        batch_size=min(32, len(train_set)),
        shuffle=True,
        generator=torch.Generator().manual_seed(config.seed),
    )
    cfg = TrainConfig(
        num_epochs=math.ceil(config.steps / len(loader)),
        lr=config.lr,
        weight_decay=5e-4,
        label_smoothing=0.1,
        device=config.device,
        seed=config.seed,
        progress=False,
        precision=config.precision,
        channels_last=config.channels_last,
    )
    fit(model, loader, None, cfg, param_groups=groups)
    return evaluate(model, test_loader, config.device, cfg.precision, config.channels_last)[1]


def pretrain_digits(config: TransferConfig | None = None) -> tuple[nn.Module, Any]:
    """Contrastive pretraining on the digits' unlabelled training half (no test image, no label).

    The partner of each view is a view of one of the image's ``config.neighbours``
    nearest neighbours in pixel space (0: of the image itself, as in SimCLR).
    """
    from .data import load_digits
    from .pretrain import PretrainConfig, pretrain_contrastive
    from .runtime import seed_everything

    config = config if config is not None else TransferConfig()
    splits = load_digits(size=config.image_size, val_size=0, seed=config.seed)
    seed_everything(config.seed)
    model = build_model(config.arch, num_classes=10, in_channels=1, width=config.width)
    history = pretrain_contrastive(
        model,
        splits.train.X,
        PretrainConfig(
            num_epochs=config.pretrain_epochs,
            neighbours=config.neighbours,
            device=config.device,
            precision=config.precision,
            channels_last=config.channels_last,
            seed=config.seed,
            progress=config.progress,
        ),
        normalize=splits.train.transform,
    )  # the split's mean/std
    return model, history


def transfer_experiment(
    config: TransferConfig | None = None, pretrained: nn.Module | None = None
) -> dict[str, Any]:
    """Scratch / linear probe / fine-tuning for each label budget, on the 899 test digits.

    Pretrains with :func:`pretrain_digits` unless ``pretrained`` is given.
    Returns a JSON-ready dict: ``curves`` (accuracy per method and budget),
    the three accuracies at the smallest budget, and timings.
    """
    from .data import load_digits, make_loaders, subset_per_class
    from .runtime import seed_everything, versions

    config = config if config is not None else TransferConfig()
    if not isinstance(config, TransferConfig):
        raise TypeError(f"config must be a TransferConfig, got {type(config).__name__}")
    if pretrained is not None:
        check_as("classifier", "pretrained", pretrained)
    result: dict[str, Any] = {
        "config": asdict(config),
        "labels_per_class": list(config.labels_per_class),
    }
    if pretrained is None:
        pretrained, history = pretrain_digits(config)
        result["pretrain_loss"], result["pretrain_seconds"] = history.loss, history.seconds
    splits = load_digits(size=config.image_size, val_size=0, seed=config.seed, augment=True)
    test_loader = make_loaders(splits, batch_size=256, seed=config.seed)[2]
    curves: dict[str, list[float]] = {"scratch": [], "linear_probe": [], "finetune": []}
    start = time.perf_counter()
    for k in config.labels_per_class:
        few = subset_per_class(splits.train, k, seed=config.seed)
        seed_everything(config.seed)
        scratch = build_model(config.arch, num_classes=10, in_channels=1, width=config.width)
        curves["scratch"].append(_downstream(scratch, few, test_loader, config, None))
        probe = replace_head(freeze_backbone(pretrained), 10)
        curves["linear_probe"].append(_downstream(probe, few, test_loader, config, None))
        tuned = replace_head(copy.deepcopy(pretrained), 10)
        groups = param_groups(tuned, config.lr * config.backbone_lr_factor, config.lr)
        curves["finetune"].append(_downstream(tuned, few, test_loader, config, groups))
    result["downstream_seconds"] = time.perf_counter() - start
    result["curves"] = curves
    result["smallest_labels_per_class"] = config.labels_per_class[0]
    for name in curves:
        result[f"{name}_accuracy"] = curves[name][0]
    result["versions"] = versions()
    return result
