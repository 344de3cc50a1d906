"""resnet_utils.pretrain: the NT-Xent loss against a loop over anchors, and a tiny pretraining run."""

import math

import pytest
import torch
import torch.nn.functional as F

from resnet_utils.models import cifar_resnet
from resnet_utils.pretrain import (
    ContrastiveViews,
    PretrainConfig,
    contrastive_views,
    nearest_neighbours,
    nt_xent,
    pretrain_contrastive,
)


def _nt_xent_loop(z1, z2, t):
    """SimCLR's loss written anchor by anchor: -log(exp(s_ij/t) / sum_{k != i} exp(s_ik/t))."""
    z = torch.cat([F.normalize(z1, dim=1), F.normalize(z2, dim=1)])
    n, total = len(z1), 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        num = math.exp(float(z[i] @ z[j]) / t)
        den = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    return total / (2 * n)


@pytest.mark.parametrize("n,d,t", [(2, 3, 0.5), (5, 8, 0.1), (7, 4, 1.0)])
def test_nt_xent_matches_the_formula(n, d, t):
    g = torch.Generator().manual_seed(n)
    z1, z2 = (
        torch.randn(n, d, generator=g, dtype=torch.float64),
        torch.randn(n, d, generator=g, dtype=torch.float64),
    )
    assert nt_xent(z1, z2, t).item() == pytest.approx(_nt_xent_loop(z1, z2, t), rel=1e-9)


def test_nt_xent_rewards_matching_views():
    z = torch.eye(4)
    assert nt_xent(z, z, 0.1) < nt_xent(z, z.roll(1, 0), 0.1)


@pytest.mark.parametrize(
    "args,exc,word",
    [
        ((torch.randn(3, 4), torch.randn(2, 4)), ValueError, "same shape"),
        ((torch.randn(1, 4), torch.randn(1, 4)), ValueError, "at least 2"),
        ((torch.randn(3), torch.randn(3)), ValueError, "z1"),
        ((torch.randn(3, 4), torch.randn(3, 4), 0.0), ValueError, "temperature"),
    ],
)
def test_nt_xent_bad_input(args, exc, word):
    with pytest.raises(exc, match=word):
        nt_xent(*args)


def test_views_keep_size_and_vary():
    views = contrastive_views(16)
    x = torch.rand(1, 16, 16)
    torch.manual_seed(0)
    a, b = views(x), views(x)
    assert a.shape == x.shape and not torch.equal(a, b)


def test_pretraining_changes_the_backbone_not_the_head():
    torch.manual_seed(0)
    model = cifar_resnet(8, num_classes=3, in_channels=1, width=4)
    fc_before = {k: v.clone() for k, v in model.fc.state_dict().items()}
    conv_before = model.conv1.weight.detach().clone()
    X = torch.rand(16, 1, 8, 8)
    history = pretrain_contrastive(
        model,
        X,
        PretrainConfig(num_epochs=3, batch_size=8, device="cpu", progress=False),
        views=contrastive_views(8),
    )
    assert len(history.loss) == 3 and all(math.isfinite(v) for v in history.loss)
    assert isinstance(model.fc, torch.nn.Linear)
    assert all(torch.equal(model.fc.state_dict()[k], v) for k, v in fc_before.items())
    assert not torch.equal(model.conv1.weight, conv_before)


def test_pretrain_bad_arguments():
    with pytest.raises(TypeError, match="fc"):
        pretrain_contrastive(torch.nn.Linear(2, 2), torch.rand(4, 1, 8, 8))
    with pytest.raises(ValueError, match="batch_size"):
        PretrainConfig(batch_size=1)
    with pytest.raises(ValueError, match="X"):
        pretrain_contrastive(cifar_resnet(8, in_channels=1), torch.rand(4, 8, 8))


def test_views_without_randomness_are_the_identity():
    views = ContrastiveViews(8, scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=0, blur_p=0)
    X = torch.rand(5, 2, 8, 8)
    assert torch.allclose(views(X), X, atol=1e-6)


def test_views_crop_inside_the_image():
    # a crop never reaches outside the image: an all-ones image stays all ones (no zero padding)
    views = ContrastiveViews(12, degrees=0, blur_p=0)
    torch.manual_seed(0)
    out = views(torch.ones(64, 1, 12, 12))
    assert torch.allclose(out, torch.ones_like(out), atol=1e-5)


def test_views_rotation_matches_torchvision():
    from torchvision.transforms.v2 import functional as TF

    views = ContrastiveViews(16, scale=(1.0, 1.0), ratio=(1.0, 1.0), degrees=15, blur_p=0)
    X = torch.zeros(1, 1, 16, 16)
    X[..., 4:12, 7:9] = 1.0  # a bar, away from the border
    angles = []
    for seed in range(5):
        theta = views.affine(1, torch.Generator().manual_seed(seed))
        angle = float(torch.rad2deg(torch.atan2(theta[0, 1, 0], theta[0, 0, 0])))
        ours = views(X, torch.Generator().manual_seed(seed))
        reference = TF.rotate(X, angle, interpolation=TF.InterpolationMode.BILINEAR)
        assert torch.allclose(ours, reference, atol=1e-5)
        angles.append(abs(angle))
    assert max(angles) > 5  # real rotations were tested


def test_views_blur_matches_torchvision():
    from torchvision.transforms.v2 import functional as TF

    X = torch.rand(3, 2, 9, 9)
    sigmas = torch.tensor([0.3, 0.7, 1.0])
    ours = ContrastiveViews.blur(X, sigmas)
    for i, s in enumerate(sigmas.tolist()):
        assert torch.allclose(ours[i], TF.gaussian_blur(X[i], [3, 3], [s, s]), atol=1e-5)


def test_views_single_image_batch_and_seed():
    views = contrastive_views(16)
    X = torch.rand(4, 1, 16, 16)
    a = views(X, torch.Generator().manual_seed(1))
    b = views(X, torch.Generator().manual_seed(1))
    assert a.shape == X.shape and torch.equal(a, b)
    assert views(X[0]).shape == X[0].shape


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"size": 2}, "size"),
        ({"size": 8, "scale": (0.0, 1.0)}, "scale"),
        ({"size": 8, "ratio": (2.0, 1.0)}, "ratio"),
        ({"size": 8, "degrees": -1}, "degrees"),
        ({"size": 8, "blur_p": 1.5}, "blur_p"),
        ({"size": 8, "sigma": (0.0, 1.0)}, "sigma"),
    ],
)
def test_views_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ContrastiveViews(**kwargs)


def test_views_reject_wrong_shapes():
    with pytest.raises(ValueError, match="X"):
        contrastive_views(8)(torch.rand(8, 8))


def _neighbours_by_hand(X, k):
    """The definition: cosine similarity of the centred images, itself excluded, k largest."""
    flat = X.reshape(len(X), -1).double()
    flat = flat - flat.mean(0)
    index = []
    for i in range(len(X)):
        sims = [
            (float(flat[i] @ flat[j] / (flat[i].norm() * flat[j].norm())), j)
            for j in range(len(X))
            if j != i
        ]
        index.append([j for _, j in sorted(sims, reverse=True)[:k]])
    return torch.tensor(index)


@pytest.mark.parametrize("n,k", [(23, 1), (23, 3), (40, 7)])
def test_nearest_neighbours_match_the_definition(n, k):
    X = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
    ours = nearest_neighbours(X, k)
    assert ours.shape == (n, k) and ours.dtype == torch.long
    assert torch.equal(ours, _neighbours_by_hand(X, k))
    assert not (ours == torch.arange(n)[:, None]).any()  # never itself


def test_nearest_neighbours_find_the_shifted_copy():
    # each image's nearest neighbour is its slightly noisy copy, not any of the other random images
    g = torch.Generator().manual_seed(0)
    base = torch.rand(10, 1, 6, 6, generator=g)
    X = torch.cat([base, base + 0.01 * torch.randn(10, 1, 6, 6, generator=g)])
    nn1 = nearest_neighbours(X, 1)[:, 0]
    assert torch.equal(nn1, torch.cat([torch.arange(10, 20), torch.arange(10)]))


@pytest.mark.parametrize(
    "args,word",
    [
        ((torch.rand(5, 1, 2, 2), 5), "k"),
        ((torch.rand(5, 1, 2, 2), 0), "k"),
        ((torch.rand(5, 4), 1), "X"),  # images (N, C, H, W), as everywhere X is taken
    ],
)
def test_nearest_neighbours_bad_input(args, word):
    with pytest.raises(ValueError, match=word):
        nearest_neighbours(*args)


def test_neighbour_partners_are_used():
    # with neighbours=1 the second view of each image is a view of its nearest neighbour
    X = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    seen = []

    def views(batch):
        seen.append(batch.clone())
        return batch

    model = cifar_resnet(8, num_classes=3, in_channels=1, width=4)
    pretrain_contrastive(
        model,
        X,
        PretrainConfig(num_epochs=1, batch_size=8, neighbours=1, device="cpu", progress=False),
        views=views,
    )
    first, second = seen
    partner = nearest_neighbours(X, 1)[:, 0]
    for a, b in zip(first, second):
        i = next(j for j in range(8) if torch.equal(X[j], a))
        assert torch.equal(b, X[partner[i]])
    seen.clear()
    pretrain_contrastive(
        model,
        X,
        PretrainConfig(num_epochs=1, batch_size=8, neighbours=0, device="cpu", progress=False),
        views=views,
    )
    assert torch.equal(seen[0], seen[1])  # SimCLR: two views of the same images


def test_neighbours_bad_arguments():
    with pytest.raises(ValueError, match="neighbours"):
        PretrainConfig(neighbours=-1)
    with pytest.raises(ValueError, match="neighbours"):
        pretrain_contrastive(
            cifar_resnet(8, in_channels=1),
            torch.rand(4, 1, 8, 8),
            PretrainConfig(neighbours=4, progress=False),
        )
