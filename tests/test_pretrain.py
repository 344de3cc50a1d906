"""resnet_utils.pretrain: the NT-Xent loss against a loop over anchors, and a tiny pretraining run."""

import math

import pytest
import torch
import torch.nn.functional as F

from resnet_utils.models import cifar_resnet
from resnet_utils.pretrain import ContrastiveViews, PretrainConfig, contrastive_views, nt_xent, pretrain_contrastive


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
    z1, z2 = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    assert nt_xent(z1, z2, t).item() == pytest.approx(_nt_xent_loop(z1, z2, t), rel=1e-9)


def test_nt_xent_rewards_matching_views():
    z = torch.eye(4)
    assert nt_xent(z, z, 0.1) < nt_xent(z, z.roll(1, 0), 0.1)


@pytest.mark.parametrize("args,exc,word", [
    ((torch.randn(3, 4), torch.randn(2, 4)), ValueError, "same shape"),
    ((torch.randn(1, 4), torch.randn(1, 4)), ValueError, "at least 2"),
    ((torch.randn(3), torch.randn(3)), ValueError, "z1"),
    ((torch.randn(3, 4), torch.randn(3, 4), 0.0), ValueError, "temperature"),
])
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
    history = pretrain_contrastive(model, X, PretrainConfig(num_epochs=3, batch_size=8, device="cpu",
                                                            progress=False), views=contrastive_views(8))
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


@pytest.mark.parametrize("kwargs, word", [
    ({"size": 2}, "size"), ({"size": 8, "scale": (0.0, 1.0)}, "scale"), ({"size": 8, "ratio": (2.0, 1.0)}, "ratio"),
    ({"size": 8, "degrees": -1}, "degrees"), ({"size": 8, "blur_p": 1.5}, "blur_p"),
    ({"size": 8, "sigma": (0.0, 1.0)}, "sigma"),
])
def test_views_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ContrastiveViews(**kwargs)


def test_views_reject_wrong_shapes():
    with pytest.raises(ValueError, match="X"):
        contrastive_views(8)(torch.rand(8, 8))
