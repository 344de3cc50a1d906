"""Datasets, splits, normalisation and loaders, offline first.

Chapters 0 and 5-9. The default data ship inside scikit-learn, so nothing is
downloaded: the 1,797 handwritten digits of ``sklearn.datasets.load_digits``,
split as in scikit-learn's example "Recognizing hand-written digits" (first
half train, second half test, unshuffled: 898 / 899 images), with a
validation split carved from the training half. CIFAR-10 is available to
readers who opt in with ``download=True``.

Images are stored as float tensors in [0, 1], shape ``(N, C, H, W)``; the
``transform`` of each split adds augmentation (training only) and the
normalisation, in torchvision's idiom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ._checks import check, check_as, check_tensor
from .runtime import seed_worker

__all__ = [
    "ImageDataset",
    "DataSplits",
    "channel_stats",
    "digits_augmentation",
    "load_digits",
    "cifar10",
    "load_cifar10",
    "make_loaders",
    "SeededDataLoader",
    "subset_per_class",
    "per_class_indices",
    "DIGITS_CLASSES",
    "CIFAR10_CLASSES",
]

DIGITS_CLASSES = [str(i) for i in range(10)]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]

Normalize = Literal["mean_std", "zero_one", "minus_one_one"]


class ImageDataset(Dataset):
    """Images ``X`` (N, C, H, W) in [0, 1] with labels ``y`` (N,), and a transform.

    ``X`` and ``y`` stay available as tensors for plotting and for the
    scikit-learn baselines; ``dataset[i]`` returns ``(transform(X[i]), y[i])``.
    """

    def __init__(
        self,
        X: Tensor,
        y: Tensor,
        transform: Callable[[Tensor], Tensor] | None = None,
        classes: list[str] | None = None,
    ) -> None:
        check(X=X, y=y, transform=transform)
        if y.shape != X.shape[:1]:
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
        self.X, self.y, self.transform = X, y.long(), transform
        self.classes = (
            classes if classes is not None else [str(c) for c in range(int(y.max()) + 1)]
        )

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x = self.X[index]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.y[index]

    def with_transform(self, transform: Callable[[Tensor], Tensor] | None) -> ImageDataset:
        """The same images and labels with another transform (no copy)."""
        return ImageDataset(self.X, self.y, transform, self.classes)


@dataclass
class DataSplits:
    """The train/validation/test splits of one dataset, and how they were made."""

    train: Dataset  # transform: augmentation (if asked) + normalisation
    val: Dataset | None  # normalisation only; None when val_size is 0
    test: Dataset  # normalisation only
    classes: list[str]  # class names, index = label
    mean: tuple[float, ...]  # per-channel statistics of the training split
    std: tuple[float, ...]
    in_channels: int
    image_size: int
    # the normalisation every split applies (no augmentation); None: mean/std above
    normalizer: Callable[[Tensor], Tensor] | None = None

    def normalize(self, X: Tensor) -> Tensor:
        """Normalise images ``X`` (N, C, H, W) in [0, 1] as the splits do, without augmentation."""
        check_tensor("X", X, floating=True)
        normalizer = self.normalizer or v2.Normalize(self.mean, self.std)
        return normalizer(X)


def channel_stats(X: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of images ``X`` (N, C, H, W).

    Compute them on the training split only: using test images here would
    leak information about the test set into training.
    """
    check(X=X)
    mean = X.mean(dim=(0, 2, 3))
    std = X.std(dim=(0, 2, 3))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def _normalizer(normalize: str, mean: tuple[float, ...], std: tuple[float, ...]) -> v2.Normalize:
    channels = len(mean)
    if normalize == "mean_std":
        return v2.Normalize(mean, std)
    if normalize == "zero_one":  # images are already in [0, 1]
        return v2.Normalize([0.0] * channels, [1.0] * channels)
    return v2.Normalize([0.5] * channels, [0.5] * channels)  # [0, 1] -> [-1, 1]


def digits_augmentation(degrees: float = 10.0, translate: float = 0.1) -> v2.Transform:
    """Small rotations and shifts: changes that keep a digit's label.

    No flips and no large rotations: a mirrored 2 or an upside-down 6 is
    another digit, or none (chapter 5 shows it).
    """
    check(degrees=degrees, translate=translate)
    # bilinear, not RandomAffine's default nearest neighbour: chapter 5's lesson on
    # resampling holds for augmentation too
    return v2.RandomAffine(
        degrees=degrees,
        translate=(translate, translate),
        interpolation=v2.InterpolationMode.BILINEAR,
    )


def _split_sizes(n: int, val_size: float | int, name: str = "val_size") -> int:
    if isinstance(check_as("val_size", name, val_size), float):
        return int(round(val_size * n))
    if val_size >= n:
        raise ValueError(f"{name} must be < {n} (the images there are), got {val_size}")
    return val_size


def _carve_validation(y: Tensor, n_val: int, seed: int) -> tuple[Tensor, Tensor]:
    """Stratified, seeded choice of ``n_val`` validation indices; returns (train_idx, val_idx)."""
    n = len(y)
    if n_val == 0:
        return torch.arange(n), torch.empty(0, dtype=torch.long)
    from sklearn.model_selection import train_test_split

    train_idx, val_idx = train_test_split(
        np.arange(n), test_size=n_val, random_state=seed, stratify=y.numpy()
    )
    return torch.as_tensor(np.sort(train_idx)), torch.as_tensor(np.sort(val_idx))


def load_digits(
    size: int = 8,
    val_size: float | int = 0.1,
    seed: int = 0,
    normalize: Normalize = "mean_std",
    augment: bool = False,
) -> DataSplits:
    """scikit-learn's handwritten digits with the example's train/test split.

    Args:
        size: image side in pixels; the 8x8 originals are resized with
            antialiased bilinear interpolation when ``size != 8``.
        val_size: fraction (float) or number (int) of training images held
            out for validation, stratified by class and seeded; 0 for none.
        seed: seed of the validation split.
        normalize: ``"mean_std"`` (training split's statistics),
            ``"zero_one"`` (pixels in [0, 1]) or ``"minus_one_one"``.
        augment: add :func:`digits_augmentation` to the training transform.

    Returns:
        :class:`DataSplits` with 898 - n_val training, n_val validation and
        899 test images, each ``(1, size, size)``.
    """
    from sklearn import datasets

    size = check_as("digit_size", "size", size)  # 8x8 digits resampled to 4..256 pixels
    check(seed=seed, normalize=normalize, augment=augment)
    digits = datasets.load_digits()
    X = (
        torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    )  # (1797, 1, 8, 8) in [0, 1]
    y = torch.tensor(digits.target, dtype=torch.long)
    if size != 8:
        X = v2.functional.resize(X, [size, size], antialias=True).clamp_(0.0, 1.0)
    n_train = len(X) // 2  # scikit-learn's example: test_size=0.5, shuffle=False -> 898 / 899
    n_val = _split_sizes(n_train, val_size)
    train_idx, val_idx = _carve_validation(y[:n_train], n_val, seed)
    X_train, y_train = X[:n_train][train_idx], y[:n_train][train_idx]
    mean, std = channel_stats(X_train)
    norm = _normalizer(normalize, mean, std)
    train_tf = v2.Compose([digits_augmentation(), norm]) if augment else norm
    val = (
        ImageDataset(X[:n_train][val_idx], y[:n_train][val_idx], norm, DIGITS_CLASSES)
        if n_val
        else None
    )
    return DataSplits(
        train=ImageDataset(X_train, y_train, train_tf, DIGITS_CLASSES),
        val=val,
        test=ImageDataset(X[n_train:], y[n_train:], norm, DIGITS_CLASSES),
        classes=DIGITS_CLASSES,
        mean=mean,
        std=std,
        in_channels=1,
        image_size=size,
        normalizer=norm,
    )


def cifar10(
    root: str | Path, train: bool = True, download: bool = False, transform: Callable | None = None
):
    """torchvision's CIFAR-10 from ``root``; downloads (163 MB) only if ``download=True``.

    When the files are missing and ``download`` is false this raises a
    ``FileNotFoundError`` that says how to get them, instead of torchvision's
    generic message.
    """
    from torchvision.datasets import CIFAR10

    check(root=root, train=train, download=download)
    folder = Path(root).expanduser() / CIFAR10.base_folder
    if not download and not folder.is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 is not in {folder}. Download it once (163 MB) with "
            f"cifar10(root={str(root)!r}, download=True), the notebook parameter "
            f"download=True, or `python -m resnet_utils.train --dataset cifar10 --download`; "
            f"or copy the extracted 'cifar-10-batches-py' folder from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html into {Path(root).expanduser()}."
        )
    try:
        return CIFAR10(
            str(Path(root).expanduser()), train=train, download=download, transform=transform
        )
    except RuntimeError as err:
        raise FileNotFoundError(
            f"CIFAR-10 files in {folder} are incomplete or corrupted ({err}); delete the folder "
            f"and download again with download=True"
        ) from err


def load_cifar10(
    root: str | Path,
    download: bool = False,
    val_size: float | int = 5000,
    seed: int = 0,
    augment: bool = True,
) -> DataSplits:
    """CIFAR-10 as :class:`DataSplits`: 45,000 / 5,000 / 10,000 images by default.

    Augmentation is He et al.'s: 4-pixel padding with a random 32x32 crop and
    horizontal flips (a flipped truck is still a truck). Statistics come from
    the training images.
    """
    from torch.utils.data import Subset

    check(augment=augment, seed=seed)
    train_raw = cifar10(root, train=True, download=download)
    test_raw = cifar10(root, train=False, download=download)
    y_all = torch.as_tensor(train_raw.targets)
    n_val = _split_sizes(len(y_all), val_size)
    train_idx, val_idx = _carve_validation(y_all, n_val, seed)
    pixels = (
        torch.from_numpy(train_raw.data[train_idx.numpy()]).float().div_(255)
    )  # (N, 32, 32, 3)
    mean = tuple(float(m) for m in pixels.mean(dim=(0, 1, 2)))
    std = tuple(float(s) for s in pixels.std(dim=(0, 1, 2)))
    to_tensor = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    norm = v2.Normalize(mean, std)
    aug = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()] if augment else []
    train_set = cifar10(root, train=True, transform=v2.Compose(to_tensor + aug + [norm]))
    eval_set = cifar10(root, train=True, transform=v2.Compose(to_tensor + [norm]))
    test_raw.transform = v2.Compose(to_tensor + [norm])
    return DataSplits(
        train=Subset(train_set, train_idx.tolist()),
        val=Subset(eval_set, val_idx.tolist()) if n_val else None,
        test=test_raw,
        classes=CIFAR10_CLASSES,
        mean=mean,
        std=std,
        in_channels=3,
        image_size=32,
    )


class SeededDataLoader(DataLoader):
    """A ``DataLoader`` whose random transforms repeat with its ``generator``.

    With ``num_workers > 0`` PyTorch seeds every worker from the loader's
    generator, so augmentations repeat. Without workers the transforms run in
    the main process and draw from torch's global generator instead; this
    loader then seeds that generator from its own at the start of every pass,
    so the same seed gives the same batches either way.
    """

    def __iter__(self):
        if self.num_workers == 0 and self.generator is not None:
            torch.manual_seed(int(torch.randint(0, 2**62, (), generator=self.generator)))
        return super().__iter__()


def make_loaders(
    splits: DataSplits,
    batch_size: int = 64,
    seed: int = 0,
    num_workers: int = 0,
    eval_batch_size: int | None = None,
) -> tuple[DataLoader, DataLoader | None, DataLoader]:
    """``(train_loader, val_loader, test_loader)`` with seeded shuffling and workers.

    Only the training loader shuffles. Its generator is seeded with ``seed``
    and each worker's NumPy/random state is derived from it, so the order of
    batches and the augmentations repeat exactly from run to run.
    """
    check(
        splits=splits,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        seed=seed,
        num_workers=num_workers,
    )
    eval_batch_size = eval_batch_size or max(batch_size, 256)
    generator = torch.Generator().manual_seed(seed)
    common = dict(
        num_workers=num_workers,
        worker_init_fn=seed_worker if num_workers else None,
        persistent_workers=num_workers > 0,
    )
    train_loader = SeededDataLoader(
        splits.train, batch_size=batch_size, shuffle=True, generator=generator, **common
    )
    val_loader = (
        DataLoader(splits.val, batch_size=eval_batch_size, **common)
        if splits.val is not None
        else None
    )
    test_loader = DataLoader(splits.test, batch_size=eval_batch_size, **common)
    return train_loader, val_loader, test_loader


def subset_per_class(dataset: ImageDataset, per_class: int, seed: int = 0) -> ImageDataset:
    """``per_class`` randomly chosen images of every class (seeded), same transform.

    Builds the few-label training sets of chapter 9. Raises ``ValueError``
    when a class has fewer images than asked for.
    """
    if not isinstance(dataset, ImageDataset):
        raise TypeError(f"dataset must be an ImageDataset, got {type(dataset).__name__}")
    index = per_class_indices(dataset.y, per_class, seed, num_classes=len(dataset.classes))
    return ImageDataset(dataset.X[index], dataset.y[index], dataset.transform, dataset.classes)


def per_class_indices(
    y: Tensor, per_class: int, seed: int = 0, num_classes: int | None = None
) -> Tensor:
    """Sorted indices of ``per_class`` randomly chosen examples of every class (seeded)."""
    check(y=y, per_class=per_class, seed=seed)
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(num_classes if num_classes is not None else int(y.max()) + 1):
        idx = torch.nonzero(y == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"per_class={per_class} but class {c} has only {len(idx)} images")
        chosen.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(chosen).sort().values
