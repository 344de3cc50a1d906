"""resnet_utils.data: the digits split of scikit-learn's example, normalisation, loaders, CIFAR-10 files."""

import hashlib
import pickle

import numpy as np
import pytest
import torch
from sklearn import datasets
from sklearn.model_selection import train_test_split

from resnet_utils.data import (
    ImageDataset,
    channel_stats,
    cifar10,
    load_cifar10,
    load_digits,
    make_loaders,
)


def test_digits_split_is_sklearns_example():
    digits = datasets.load_digits()
    # The example: train_test_split(data, target, test_size=0.5, shuffle=False)
    X_tr, X_te, y_tr, y_te = train_test_split(
        digits.data, digits.target, test_size=0.5, shuffle=False
    )
    s = load_digits(val_size=0, normalize="zero_one")
    assert (len(s.train), s.val, len(s.test)) == (898, None, 899) == (len(X_tr), None, len(X_te))
    np.testing.assert_allclose(s.test.X.reshape(899, 64).numpy() * 16, X_te)
    np.testing.assert_array_equal(s.test.y.numpy(), y_te)
    np.testing.assert_array_equal(s.train.y.numpy(), y_tr)


def test_validation_is_carved_from_training_half():
    s = load_digits(val_size=0.1, seed=3, normalize="zero_one")
    assert len(s.train) == 808 and len(s.val) == 90 and len(s.test) == 899
    train_half = datasets.load_digits().data[:898]
    rows = lambda ds: {
        tuple(r) for r in (ds.X.reshape(len(ds), 64).numpy() * 16).round().astype(int)
    }
    train_rows, val_rows = rows(s.train), rows(s.val)
    assert val_rows <= {tuple(r) for r in train_half.astype(int)}
    assert np.bincount(s.val.y.numpy(), minlength=10).min() >= 8  # stratified: every class present
    assert torch.equal(
        load_digits(val_size=90, seed=3).val.y, s.val.y
    )  # int count == fraction here
    assert not torch.equal(
        load_digits(val_size=90, seed=4).val.X, s.val.X
    )  # seed changes the split
    assert len(train_rows | val_rows) >= 890  # (a few digits are pixel-identical duplicates)


def test_normalisation_uses_training_statistics():
    s = load_digits(val_size=0.1)
    X = torch.stack([s.train[i][0] for i in range(len(s.train))])
    assert abs(float(X.mean())) < 1e-5 and abs(float(X.std()) - 1) < 1e-3
    mean, std = channel_stats(s.train.X)
    assert (mean, std) == (s.mean, s.std)
    assert abs(mean[0] - float(s.train.X.mean())) < 1e-6


@pytest.mark.parametrize("normalize,lo,hi", [("zero_one", 0.0, 1.0), ("minus_one_one", -1.0, 1.0)])
def test_normalisation_ranges(normalize, lo, hi):
    s = load_digits(normalize=normalize)
    x = torch.stack([s.test[i][0] for i in range(50)])
    assert float(x.min()) == pytest.approx(lo) and float(x.max()) == pytest.approx(hi)


def test_resize_and_augmentation():
    s = load_digits(size=16, augment=True)
    x1, y1 = s.train[0]
    x2, _ = s.train[0]
    assert x1.shape == (1, 16, 16) and y1.dtype == torch.long
    assert not torch.equal(x1, x2)  # random augmentation on the training split
    assert torch.equal(s.test[0][0], s.test[0][0])  # evaluation transform is deterministic


def test_make_loaders_is_seeded():
    s = load_digits(val_size=0.1)
    first = lambda seed: next(iter(make_loaders(s, batch_size=16, seed=seed)[0]))[1]
    assert torch.equal(first(0), first(0)) and not torch.equal(first(0), first(1))
    train_loader, val_loader, test_loader = make_loaders(s, batch_size=16)
    assert len(train_loader) == 51 and len(test_loader.dataset) == 899
    xb, yb = next(iter(test_loader))
    assert xb.shape == (256, 1, 8, 8)
    assert torch.equal(yb, s.test.y[:256])  # the test loader does not shuffle


def _write_fake_cifar(root, n_per_batch=6):
    """Write CIFAR-10's real on-disk format (pickled dicts of uint8 rows) with a few images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n_per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(
            {
                "label_names": [
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
            },
            f,
        )
    return folder


def test_cifar10_missing_files_say_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        cifar10(tmp_path)


def test_cifar10_corrupted_files_are_reported(tmp_path):
    _write_fake_cifar(tmp_path)  # the fakes fail torchvision's MD5 check, as corrupted files would
    with pytest.raises(FileNotFoundError, match="corrupted"):
        cifar10(tmp_path)


def test_cifar10_reads_the_real_format(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    folder = _write_fake_cifar(tmp_path)
    # torchvision checks each file's MD5; tell it our small files' sums so that its real check runs.
    md5 = lambda name: hashlib.md5((folder / name).read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(n)] for n, _ in CIFAR10.train_list])
    monkeypatch.setattr(CIFAR10, "test_list", [[n, md5(n)] for n, _ in CIFAR10.test_list])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    ds = cifar10(tmp_path, train=True)
    assert len(ds) == 30
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f)
    img, label = ds[0]
    np.testing.assert_array_equal(
        np.asarray(img), raw["data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    )
    assert label == raw["labels"][0]
    splits = load_cifar10(tmp_path, val_size=10)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (20, 10, 6)
    x, y = splits.train[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert splits.classes[0] == "airplane" and splits.in_channels == 3


@pytest.mark.parametrize(
    "call,exc,word",
    [
        (lambda: load_digits(size=2), ValueError, "size"),
        (lambda: load_digits(size="16"), TypeError, "size"),
        (lambda: load_digits(val_size=1.5), ValueError, "val_size"),
        (lambda: load_digits(val_size=898), ValueError, "val_size"),
        (lambda: load_digits(val_size="a"), TypeError, "val_size"),
        (lambda: load_digits(normalize="imagenet"), ValueError, "normalize"),
        (lambda: load_digits(augment=1), TypeError, "augment"),
        (lambda: make_loaders(load_digits(), batch_size=0), ValueError, "batch_size"),
        (lambda: make_loaders("digits"), TypeError, "splits"),
        (lambda: ImageDataset(torch.zeros(3, 8, 8), torch.zeros(3)), ValueError, "X"),
        (lambda: ImageDataset(torch.zeros(3, 1, 8, 8), torch.zeros(4)), ValueError, "same length"),
        (lambda: channel_stats(torch.zeros(2, 8, 8)), ValueError, "X"),
        (lambda: cifar10(42), TypeError, "root"),
    ],
)
def test_bad_arguments(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_same_seed_same_augmented_batches(num_workers):
    s = load_digits(size=16, augment=True)
    first = lambda seed: next(
        iter(make_loaders(s, batch_size=32, seed=seed, num_workers=num_workers)[0])
    )[0]
    assert torch.equal(first(3), first(3))
    assert not torch.equal(first(3), first(4))
    loader = make_loaders(s, batch_size=32, seed=3, num_workers=num_workers)[0]
    epoch1, epoch2 = next(iter(loader))[0], next(iter(loader))[0]
    assert not torch.equal(epoch1, epoch2)  # each pass draws new shuffling and augmentations


def test_splits_normalize_is_the_test_transform():
    from resnet_utils.data import load_digits

    for normalize in ("mean_std", "zero_one", "minus_one_one"):
        splits = load_digits(val_size=0, normalize=normalize, augment=True)
        X = splits.test.X[:7]
        expected = torch.stack([splits.test[i][0] for i in range(7)])
        torch.testing.assert_close(splits.normalize(X), expected)
