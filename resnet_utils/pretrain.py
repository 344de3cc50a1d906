"""Self-supervised pretraining: learn features from unlabelled images (SimCLR-style).

Chapter 7. Two random augmentations ("views") of the same image should map
to nearby feature vectors, and views of different images to distant ones.
The NT-Xent loss of SimCLR (Chen et al., 2020, arXiv:2002.05709) scores each
view's partner against every other view in the batch, as a classification
problem. No labels are used: the experiment pretrains on the digits'
training half, never on test images.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.transforms import v2
from tqdm.auto import tqdm

from ._checks import check_int, check_number, check_tensor
from .runtime import resolve_device, seed_everything

__all__ = ["nt_xent", "contrastive_views", "ProjectionHead", "PretrainConfig", "pretrain_contrastive"]


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """Normalised temperature-scaled cross-entropy of SimCLR.

    ``z1[i]`` and ``z2[i]`` are the projections of two views of image ``i``,
    shape ``(N, D)``. Each of the ``2N`` views must pick out its partner
    among the other ``2N - 1`` by cosine similarity divided by
    ``temperature``; the loss is the mean cross-entropy of that choice.
    """
    check_tensor("z1", z1, ndim=2, floating=True)
    check_tensor("z2", z2, ndim=2, floating=True)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError("nt_xent needs at least 2 images per batch (the other images are the negatives)")
    temperature = check_number("temperature", temperature, min_value=0, min_inclusive=False)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D), unit length
    sim = z @ z.T / temperature  # (2N, 2N) cosine similarities
    sim.fill_diagonal_(float("-inf"))  # a view is not its own partner
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, partner)


def contrastive_views(size: int) -> v2.Transform:
    """The augmentation that makes the two views of a digit: strong, but label-preserving.

    A random crop of 40-100 % of the image resized back to ``size`` (SimCLR's
    most important augmentation), a rotation of up to 15 degrees, and a
    Gaussian blur half of the time (measured on the digits: the blur lifts
    1-nearest-neighbour accuracy on the learned features by several points).
    No flips (chapter 4).
    """
    check_int("size", size, min_value=4)
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.4, 1.0), ratio=(0.75, 1.33), antialias=True),
        v2.RandomAffine(degrees=15),
        v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.0))], p=0.5),
    ])


class ProjectionHead(nn.Module):
    """The small MLP that maps backbone features to the space where the loss is computed.

    SimCLR found the features *before* this head transfer better than after
    it, so it is thrown away after pretraining.
    """

    def __init__(self, in_features: int, hidden: int = 128, out_features: int = 64) -> None:
        super().__init__()
        check_int("in_features", in_features, min_value=1)
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, out_features))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass
class PretrainConfig:
    """How :func:`pretrain_contrastive` trains."""

    num_epochs: int = 60  # passes over the unlabelled images
    batch_size: int = 256  # images per batch: 2 x 256 views, 510 negatives each
    lr: float = 0.5  # peak learning rate (SGD with momentum, cosine schedule with warm-up)
    weight_decay: float = 1e-4
    temperature: float = 0.1  # of the NT-Xent loss (lower: harder negatives count more)
    device: str = "auto"
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        check_int("num_epochs", self.num_epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=2)
        check_number("lr", self.lr, min_value=0, min_inclusive=False)
        check_number("weight_decay", self.weight_decay, min_value=0)
        check_number("temperature", self.temperature, min_value=0, min_inclusive=False)


@dataclass
class PretrainHistory:
    loss: list[float] = field(default_factory=list)  # mean NT-Xent loss per epoch
    seconds: float = 0.0


def pretrain_contrastive(model: nn.Module, X: Tensor, config: PretrainConfig | None = None,
                         views: Callable[[Tensor], Tensor] | None = None,
                         normalize: Callable[[Tensor], Tensor] | None = None) -> PretrainHistory:
    """Pretrain ``model``'s backbone on unlabelled images ``X`` (N, C, H, W) in [0, 1].

    ``model`` is a classifier whose last layer is ``model.fc`` (any of
    :mod:`resnet_utils.models`); ``fc`` is set aside during pretraining, a
    :class:`ProjectionHead` is trained on top of the features, and ``fc`` is
    put back at the end, untouched. ``views`` makes one random view of an
    image (default :func:`contrastive_views`); ``normalize`` is applied to
    each view after it (for example the dataset's mean/std).
    """
    config = config if config is not None else PretrainConfig()
    if not isinstance(config, PretrainConfig):
        raise TypeError(f"config must be a PretrainConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module) or not isinstance(getattr(model, "fc", None), nn.Linear):
        raise TypeError("model must be a ResNet-style nn.Module whose last layer is a Linear `fc`")
    check_tensor("X", X, ndim=4, floating=True)
    if len(X) < 2:
        raise ValueError(f"X must hold at least 2 images, got {len(X)}")
    device = resolve_device(config.device)
    generator = seed_everything(config.seed)
    views = views or contrastive_views(X.shape[-1])
    normalize = normalize or (lambda t: t)
    fc = model.fc
    model.fc = nn.Identity()  # the backbone now outputs features (N, F)
    head = ProjectionHead(fc.in_features)
    model.to(device)
    head.to(device)
    params = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    batch_size = min(config.batch_size, len(X))
    steps = config.num_epochs * (len(X) // batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps,
                                                    pct_start=0.1, anneal_strategy="cos")
    history = PretrainHistory()
    start = time.perf_counter()
    try:
        model.train()
        head.train()
        for _ in tqdm(range(config.num_epochs), desc="pretraining", disable=not config.progress):
            order = torch.randperm(len(X), generator=generator)
            total, count = 0.0, 0
            for i in range(0, len(X) - batch_size + 1, batch_size):  # drop the last partial batch
                batch = X[order[i:i + batch_size]]
                v1 = torch.stack([normalize(views(x)) for x in batch]).to(device)  # (B, C, H, W)
                v2_ = torch.stack([normalize(views(x)) for x in batch]).to(device)
                loss = nt_xent(head(model(v1)), head(model(v2_)), config.temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item()
                count += 1
            history.loss.append(total / count)
    finally:
        model.fc = fc  # put the (untrained) classifier back
    history.seconds = time.perf_counter() - start
    return history
