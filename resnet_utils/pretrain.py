"""Self-supervised pretraining: learn features from unlabelled images (SimCLR-style).

Chapter 9. Two random augmentations ("views") of the same image should map
to nearby feature vectors, and views of different images to distant ones.
The NT-Xent loss of SimCLR (Chen et al., 2020, arXiv:2002.05709) scores each
view's partner against every other view in the batch, as a classification
problem. No labels are used: the experiment pretrains on the digits'
training half, never on test images.

With ``neighbours=k`` the second view is not of the image itself but of one
of its ``k`` nearest neighbours in pixel space (:func:`nearest_neighbours`),
so that two different hand-written versions of (usually) the same digit must
agree. This is the idea of NNCLR (Dwibedi et al., 2021, arXiv:2104.14548),
which looks the neighbours up in the learned feature space instead; pixel
space is enough for small centred digits and is searched once, before training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ._checks import check, check_as, check_fields, check_int
from .runtime import resolve_device, resolve_precision, seed_everything
from .step import TrainStep

__all__ = [
    "nt_xent",
    "nearest_neighbours",
    "ContrastiveViews",
    "contrastive_views",
    "ProjectionHead",
    "PretrainConfig",
    "pretrain_contrastive",
]


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """Normalised temperature-scaled cross-entropy of SimCLR.

    ``z1[i]`` and ``z2[i]`` are the projections of two views of image ``i``,
    shape ``(N, D)``. Each of the ``2N`` views must pick out its partner
    among the other ``2N - 1`` by cosine similarity divided by
    ``temperature``; the loss is the mean cross-entropy of that choice.
    """
    check(z1=z1, z2=z2, temperature=temperature)
    if z2.shape != z1.shape or len(z1) < 2:
        raise ValueError(
            f"z1 and z2 must have the same shape (N, D), with at least 2 images (the other "
            f"images are the negatives), got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D), unit length
    sim = z @ z.T / temperature  # (2N, 2N) cosine similarities
    sim.fill_diagonal_(float("-inf"))  # a view is not its own partner
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, partner)


def nearest_neighbours(X: Tensor, k: int) -> Tensor:
    """Indices ``(N, k)`` of each image's ``k`` most similar *other* images, most similar first.

    Similarity is the cosine of the angle between the images' pixels after
    subtracting the mean image (so the dark background that every digit
    shares does not count). ``X`` is ``(N, C, H, W)``. The search is
    scikit-learn's ``NearestNeighbors`` (brute force, in memory-bounded
    chunks); the indices are on the CPU. No labels: these are the positives
    of neighbour contrastive learning.
    """
    from sklearn.neighbors import NearestNeighbors

    X, k = check(X=X, k=k)
    if k >= len(X):
        raise ValueError(f"k must be smaller than the number of images ({len(X)}), got {k}")
    flat = X.detach().reshape(len(X), -1).cpu().double().numpy()
    flat = flat - flat.mean(0)
    # kneighbors() without a query: each image's neighbours among the others, never itself
    index = (
        NearestNeighbors(n_neighbors=k, metric="cosine")
        .fit(flat)
        .kneighbors(return_distance=False)
    )
    return torch.from_numpy(index).long()


class ContrastiveViews:
    """Random views of a batch of images, made in one pass (no per-image Python loop).

    Each image gets its own random crop of ``scale`` (40-100 %) of its area
    with aspect ratio in ``ratio``, resized back to the full size (SimCLR's
    most important augmentation), a rotation of up to ``degrees``, and, with
    probability ``blur_p``, a 3x3 Gaussian blur with sigma in ``sigma``
    (chosen on validation data, ``tools/sweep_views.py``: with it, the mean
    1-nearest-neighbour accuracy of chapter 9's features on unlabelled
    training digits, seeds 0-2, is 84.7 % with 1 label per class against
    82.1 % without, and 94.9 % against 94.8 % with 10; the seeds' ranges
    overlap, so the gain is small and uncertain). No flips (chapter 5).

    Crop and rotation are one affine map per image, applied to the whole
    batch by ``F.affine_grid`` and ``F.grid_sample``; the blur is a depthwise
    convolution with one kernel per image. Making the views image by image
    with torchvision's transforms took 60 % of the pretraining time.
    Call it on ``(C, H, W)`` or ``(N, C, H, W)``; randomness comes from
    ``generator`` (default: torch's global generator).
    """

    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.4, 1.0),
        ratio: tuple[float, float] = (0.75, 1.33),
        degrees: float = 15.0,
        blur_p: float = 0.5,
        sigma: tuple[float, float] = (0.1, 1.0),
    ) -> None:
        self.size = check_int("size", size, min_value=4)
        self.degrees, self.blur_p = check(degrees=degrees, blur_p=blur_p)
        for name, (low, high), top in [
            ("scale", scale, 1),
            ("ratio", ratio, None),
            ("sigma", sigma, None),
        ]:
            if not 0 < low <= high <= (top or high):
                raise ValueError(
                    f"{name} must be (low, high) with 0 < low <= high, got {(low, high)}"
                )
        self.scale, self.ratio, self.sigma = scale, ratio, sigma

    def __repr__(self) -> str:
        return (
            f"ContrastiveViews(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
            f"degrees={self.degrees}, blur_p={self.blur_p}, sigma={self.sigma})"
        )

    def affine(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` random crop-and-rotate maps as ``(n, 2, 3)`` matrices for ``F.affine_grid``.

        The matrix maps output coordinates in [-1, 1] to input coordinates:
        a crop of half-widths ``(w, h)`` centred at ``(cx, cy)``, rotated.
        """

        def uniform(low: float, high: float) -> Tensor:
            return low + (high - low) * torch.rand(n, generator=generator)

        area = uniform(*self.scale)
        log_ratio = uniform(math.log(self.ratio[0]), math.log(self.ratio[1]))
        w = torch.sqrt(area * log_ratio.exp()).clamp(max=1.0)  # crop width / image width
        h = torch.sqrt(area / log_ratio.exp()).clamp(max=1.0)
        cx = (1 - w) * uniform(-1, 1)  # the crop stays inside the image
        cy = (1 - h) * uniform(-1, 1)
        angle = torch.deg2rad(uniform(-self.degrees, self.degrees))
        cos, sin = angle.cos(), angle.sin()
        # input = S @ R @ output + c: rotate the output square, then map it into the crop (as torchvision
        # does when it crops, resizes, then rotates the result)
        return torch.stack(
            [torch.stack([w * cos, -w * sin, cx], 1), torch.stack([h * sin, h * cos, cy], 1)], 1
        )

    @staticmethod
    def blur(X: Tensor, sigmas: Tensor) -> Tensor:
        """3x3 Gaussian blur of each image ``X[i]`` with its own ``sigmas[i]`` (reflect padding, as torchvision)."""
        n, c, height, width = X.shape
        offsets = torch.tensor([-1.0, 0.0, 1.0], device=X.device)
        k1 = torch.exp(-(offsets**2) / (2 * sigmas.to(X.device)[:, None] ** 2))
        k1 = k1 / k1.sum(1, keepdim=True)  # (n, 3)
        kernels = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[
            :, None
        ]  # (n*c, 1, 3, 3)
        padded = F.pad(X.reshape(1, n * c, height, width), (1, 1, 1, 1), mode="reflect")
        return F.conv2d(padded, kernels.to(X.dtype), groups=n * c).reshape(n, c, height, width)

    def __call__(self, X: Tensor, generator: torch.Generator | None = None) -> Tensor:
        single = isinstance(X, Tensor) and X.ndim == 3  # one image (C, H, W)
        batch = check(X=X[None] if single else X)  # (N, C, H, W)
        n = len(batch)
        theta = self.affine(n, generator).to(batch.device, batch.dtype)
        grid = F.affine_grid(theta, [n, batch.shape[1], self.size, self.size], align_corners=False)
        # "border": a crop that touches the edge repeats the edge pixels instead of fading to zero
        out = F.grid_sample(
            batch, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        blurred = torch.rand(n, generator=generator) < self.blur_p
        if blurred.any():
            sigmas = self.sigma[0] + (self.sigma[1] - self.sigma[0]) * torch.rand(
                n, generator=generator
            )
            out = torch.where(
                blurred.to(out.device)[:, None, None, None], self.blur(out, sigmas), out
            )
        return out[0] if single else out


def contrastive_views(size: int) -> ContrastiveViews:
    """The augmentation that makes the two views of a digit: strong, but label-preserving.

    See :class:`ContrastiveViews` (crop 40-100 %, rotation up to 15 degrees,
    blur half of the time).
    """
    return ContrastiveViews(size)


class ProjectionHead(nn.Module):
    """The small MLP that maps backbone features to the space where the loss is computed.

    SimCLR found the features *before* this head transfer better than after
    it, so it is thrown away after pretraining.
    """

    def __init__(self, in_features: int, hidden: int = 128, out_features: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class _Pair(nn.Module):
    """Backbone and projection head applied to each of two views: ``(2, B, C, H, W) -> (2, B, D)``.

    The two views go through the network one after the other, so batch norm
    sees each view's batch on its own.
    """

    def __init__(
        self, backbone: nn.Module, head: nn.Module, memory_format: torch.memory_format
    ) -> None:
        super().__init__()
        self.backbone, self.head, self.memory_format = backbone, head, memory_format

    def forward(self, views: Tensor) -> Tensor:
        return torch.stack(
            [
                self.head(self.backbone(v.contiguous(memory_format=self.memory_format)))
                for v in views
            ]
        )


@dataclass
class PretrainConfig:
    """How :func:`pretrain_contrastive` trains."""

    num_epochs: int = 60  # passes over the unlabelled images
    batch_size: int = 64  # images per batch: 2 x 64 views, 126 negatives each
    lr: float = 0.3  # peak learning rate (SGD with momentum, cosine schedule with warm-up)
    weight_decay: float = 1e-4
    temperature: float = 0.5  # of the NT-Xent loss (lower: harder negatives count more)
    # partner view: one of the image's k nearest neighbours; 0: the image itself (SimCLR)
    neighbours: int = 10
    precision: str = "fp32"  # "bf16", "fp16" (CUDA) or "auto", as in TrainConfig (chapter 10)
    channels_last: bool = False
    device: str = "auto"
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        check_fields(self)  # each field by its rule in resnet_utils._checks.RULES
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (the negatives), got {self.batch_size}")


@dataclass
class PretrainHistory:
    loss: list[float] = field(default_factory=list)  # mean NT-Xent loss per epoch
    seconds: float = 0.0


def pretrain_contrastive(
    model: nn.Module,
    X: Tensor,
    config: PretrainConfig | None = None,
    views: Callable[[Tensor], Tensor] | None = None,
    normalize: Callable[[Tensor], Tensor] | None = None,
) -> PretrainHistory:
    """Pretrain ``model``'s backbone on unlabelled images ``X`` (N, C, H, W) in [0, 1].

    ``model`` is a classifier whose last layer is ``model.fc`` (any of
    :mod:`resnet_utils.models`); ``fc`` is set aside during pretraining, a
    :class:`ProjectionHead` is trained on top of the features, and ``fc`` is
    put back at the end, untouched. ``views`` makes one random view of each
    image in a batch (default :func:`contrastive_views`); ``normalize`` is
    applied to the views after it (for example the dataset's mean/std).
    With ``config.neighbours = k > 0`` the partner of each image's view is a
    view of one of its ``k`` nearest neighbours (:func:`nearest_neighbours`),
    drawn afresh every time.
    """
    config = config if config is not None else PretrainConfig()
    if not isinstance(config, PretrainConfig):
        raise TypeError(f"config must be a PretrainConfig, got {type(config).__name__}")
    check_as("classifier", "model", model)
    if len(check(X=X)) < 2 or config.neighbours >= len(X):
        raise ValueError(
            f"X must hold at least 2 images, and more than config.neighbours "
            f"({config.neighbours}): got {len(X)}"
        )
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    generator = seed_everything(config.seed)
    neighbours = nearest_neighbours(X, config.neighbours) if config.neighbours else None
    views = views or contrastive_views(X.shape[-1])
    normalize = normalize or (lambda t: t)
    fc = model.fc
    model.fc = nn.Identity()  # the backbone now outputs features (N, F)
    head = ProjectionHead(fc.in_features)
    model.to(device=device, memory_format=memory_format)
    head.to(device)
    params = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(
        params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay
    )
    batch_size = min(config.batch_size, len(X))
    steps = config.num_epochs * (len(X) // batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.lr,
        total_steps=steps,
        pct_start=0.1,
        anneal_strategy="cos",
        cycle_momentum=False,  # momentum stays 0.9
    )
    pair = _Pair(model, head, memory_format)
    step = TrainStep(
        pair,
        optimizer,
        device=device,
        precision=precision,
        scheduler=scheduler,
        loss_fn=lambda z, _: nt_xent(z[0], z[1], config.temperature),
    )
    history = PretrainHistory()
    start = time.perf_counter()
    try:
        pair.train()
        for _ in tqdm(range(config.num_epochs), desc="pretraining", disable=not config.progress):
            order = torch.randperm(len(X), generator=generator)
            total, count = 0.0, 0
            for i in range(0, len(X) - batch_size + 1, batch_size):  # drop the last partial batch
                index = order[i : i + batch_size]
                partner = index
                if neighbours is not None:  # a random one of each image's nearest neighbours
                    pick = torch.randint(0, config.neighbours, (len(index),), generator=generator)
                    partner = neighbours[index, pick]
                views_ = torch.stack(
                    [
                        normalize(views(X[index])),  # (2, B, C, H, W)
                        normalize(views(X[partner])),
                    ]
                )  # a view and its partner
                total += step(views_)[0].item()
                count += 1
            history.loss.append(total / count)
    finally:
        model.fc = fc  # put the (untrained) classifier back
    history.seconds = time.perf_counter() - start
    return history
