"""resnet_utils.explain against references: Captum, hand-written shortcut paths, plain losses."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.explain import (
    Bypass,
    backbone_features,
    feature_maps,
    grad_cam,
    loss_landscape,
    random_direction,
    residual_blocks,
    saliency,
    trace_shapes,
    without_blocks,
)
from resnet_utils.models import PadShortcut, cifar_resnet, resnet18, resnet34, resnet50


def _model(depth=8, residual=True, in_channels=1, width=4, shortcut="A", seed=0):
    """A small CIFAR ResNet with non-trivial batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = cifar_resnet(
        depth, in_channels=in_channels, width=width, residual=residual, shortcut=shortcut
    )
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def _images(n=5, channels=1, size=16, seed=1):
    return torch.randn(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


# feature_maps ----------------------------------------------------------------------------------


def test_feature_maps_match_the_traced_shapes_and_the_layers_by_hand():
    model, X = _model(depth=14), _images()
    maps = feature_maps(model, X)
    assert list(maps) == [n for n, _ in model.named_children()]
    assert [(n, tuple(t.shape)) for n, t in maps.items()] == trace_shapes(model, X)
    with torch.no_grad():
        pre_relu = model.bn1(model.conv1(X))
        assert torch.equal(maps["bn1"], pre_relu)  # not overwritten by the in-place ReLU
        assert pre_relu.min() < 0
        assert torch.allclose(maps["layer2"], model.layer2(model.layer1(F.relu(pre_relu))))


def test_feature_maps_of_chosen_layers_restore_the_mode():
    model, X = _model().train(), _images()
    maps = feature_maps(model, X, ["layer3", "layer1.0.conv1"])
    assert list(maps) == ["layer3", "layer1.0.conv1"]
    assert maps["layer3"].shape == (5, 16, 4, 4) and not maps["layer3"].requires_grad
    assert model.training and all(m.training for m in model.modules())


def test_feature_maps_bad_arguments():
    model, X = _model(), _images()
    with pytest.raises(ValueError, match="layer 'layer4' is not a module"):
        feature_maps(model, X, ["layer4"])
    with pytest.raises(ValueError, match="non-empty list"):
        feature_maps(model, X, [])
    with pytest.raises(ValueError, match="4-D"):
        feature_maps(model, X[0])
    with pytest.raises(TypeError, match="model"):
        feature_maps("model", X)


# grad_cam and saliency against Captum ----------------------------------------------------------


@pytest.mark.parametrize("layer", ["layer3", "layer2", "layer2.0.conv2"])
@pytest.mark.parametrize("upsample", [True, False])
def test_grad_cam_equals_captum(layer, upsample):
    captum_attr = pytest.importorskip("captum.attr")
    model, X = _model(depth=14), _images(6)
    target = torch.tensor([0, 3, 9, 1, 1, 7])
    ours = grad_cam(model, layer, X, target, upsample=upsample)
    module = dict(model.named_modules())[layer]
    ref = captum_attr.LayerGradCam(model, module).attribute(
        X, target=target, relu_attributions=True
    )
    if upsample:
        ref = captum_attr.LayerAttribution.interpolate(ref, X.shape[-2:], "bilinear")
    assert ours.shape == ref[:, 0].shape == ((6, 16, 16) if upsample else ours.shape)
    assert ours.abs().max() > 0 and (ours >= 0).all()
    torch.testing.assert_close(ours, ref[:, 0].detach(), rtol=1e-5, atol=1e-6)


def test_grad_cam_variants_equal_captums_and_the_formula():
    """The choices the exercise checker names a mistake by: without the ReLU (Captum's
    relu_attributions=False), nearest upsampling, summed or no pooling, the softmax's gradient."""
    captum_attr = pytest.importorskip("captum.attr")
    model, X = _model(depth=14), _images(3)
    target = torch.tensor([0, 3, 9])
    raw = captum_attr.LayerGradCam(model, model.layer3).attribute(X, target=target)
    torch.testing.assert_close(
        grad_cam(model, "layer3", X, target, relu=False, upsample=False), raw[:, 0].detach()
    )
    nearest = captum_attr.LayerAttribution.interpolate(raw.relu(), (16, 16), "nearest")
    torch.testing.assert_close(
        grad_cam(model, "layer3", X, target, mode="nearest"), nearest[:, 0].detach()
    )
    A = feature_maps(model, X, ["layer3"])["layer3"]  # (N, K, h, w)
    for score in ("logit", "softmax"):
        A_ = A.clone().requires_grad_(True)
        logits = model.fc(torch.flatten(model.avgpool(A_), 1))  # the layers after layer3
        out = logits.softmax(1) if score == "softmax" else logits
        (dA,) = torch.autograd.grad(out[torch.arange(3), target].sum(), A_)
        expected = {
            "sum": (dA.sum((2, 3), keepdim=True) * A).sum(1).relu(),
            "none": (dA * A).sum(1).relu(),
            "mean": (dA.mean((2, 3), keepdim=True) * A).sum(1).relu(),
        }
        for pool, maps in expected.items():
            got = grad_cam(model, "layer3", X, target, score=score, pool=pool, upsample=False)
            torch.testing.assert_close(got, maps, rtol=1e-5, atol=1e-6)


def test_grad_cam_targets_and_modes():
    captum_attr = pytest.importorskip("captum.attr")
    model, X = _model().train(), _images(4)
    predicted = grad_cam(model, "layer3", X)  # target None: the predicted class
    model.eval()
    with torch.no_grad():
        pred = model(X).argmax(1)
    ref = captum_attr.LayerGradCam(model, model.layer3).attribute(
        X, target=pred, relu_attributions=True
    )
    ref = captum_attr.LayerAttribution.interpolate(ref, (16, 16), "bilinear")
    torch.testing.assert_close(predicted, ref[:, 0].detach(), rtol=1e-5, atol=1e-6)
    same = grad_cam(model, model.layer3, X, 2)  # a module works like its name; an int for all
    assert torch.allclose(same, grad_cam(model, "layer3", X, [2, 2, 2, 2]))
    assert all(p.grad is None for p in model.parameters())


def test_grad_cam_with_frozen_weights_and_a_3_channel_model():
    model, X = _model(in_channels=3), _images(2, channels=3)
    for p in model.parameters():
        p.requires_grad_(False)
    assert grad_cam(model, "layer3", X, 0).shape == (2, 16, 16)


def test_grad_cam_bad_arguments():
    model, X = _model(), _images(2)
    with pytest.raises(ValueError, match="layer 'layer9' is not a module"):
        grad_cam(model, "layer9", X, 0)
    with pytest.raises(ValueError, match="not a module of the model"):
        grad_cam(model, nn.Conv2d(1, 1, 3), X, 0)
    with pytest.raises(TypeError, match="layer must be"):
        grad_cam(model, 3, X, 0)
    with pytest.raises(ValueError, match="4-D"):
        grad_cam(model, "fc", X, 0)
    with pytest.raises(ValueError, match=r"each in \[0, 9\]; got 10"):
        grad_cam(model, "layer3", X, 10)
    with pytest.raises(ValueError, match="one class index per image"):
        grad_cam(model, "layer3", X, [1, 2, 3])
    with pytest.raises(ValueError, match="class index"):
        grad_cam(model, "layer3", X, torch.tensor([0.5, 1.0]))


def test_saliency_equals_captum():
    captum_attr = pytest.importorskip("captum.attr")
    model, X = _model(in_channels=3), _images(4, channels=3)
    target = torch.tensor([5, 0, 2, 2])
    X_ref = X.clone().requires_grad_(True)
    ref = captum_attr.Saliency(model).attribute(X_ref, target=target, abs=True)  # (N, C, H, W)
    ours = saliency(model, X, target)
    assert ours.shape == (4, 16, 16)
    torch.testing.assert_close(ours, ref.amax(dim=1), rtol=1e-5, atol=1e-7)
    assert X.grad is None and all(p.grad is None for p in model.parameters())


def test_saliency_by_hand_on_a_linear_model():
    # For logits = W x, the gradient of class c's score is row c of W: the map is |W_c|.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3, bias=False))
    X = torch.randn(2, 1, 4, 4)
    got = saliency(model, X, [2, 0])
    expected = model[1].weight.detach().abs().view(3, 4, 4)[[2, 0]]
    assert torch.allclose(got, expected)


# without_blocks -------------------------------------------------------------------------------


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_every_branch_removed_leaves_the_shortcut_path(shortcut):
    model, X = _model(depth=14, width=4, shortcut=shortcut), _images(3)
    n = len(residual_blocks(model))
    stripped = without_blocks(model, range(n))
    assert not residual_blocks(stripped) and all(isinstance(m, Bypass) for m in stripped.layer2)
    with torch.no_grad():
        x = F.relu(model.bn1(model.conv1(X)))  # (N, 4, 16, 16): the stem stays
        for stage in (model.layer2, model.layer3):  # layer1: identities
            first = stage[0]
            if shortcut == "A":  # subsample, zero-pad 2 channels before and after
                x = x[:, :, ::2, ::2]
                pad = first.conv2.out_channels - x.shape[1]
                x = F.pad(x, (0, 0, 0, 0, pad // 2, pad - pad // 2))
            else:
                x = F.relu(first.downsample(x))
        expected = model.fc(torch.flatten(model.avgpool(x), 1))
        torch.testing.assert_close(stripped(X), expected)


def test_deleting_a_zeroed_branch_changes_nothing_and_the_model_is_untouched():
    model = cifar_resnet(14, in_channels=1, width=4, zero_init_residual=True).eval()
    X = _images(3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        out = model(X)
        for blocks in ([0], [2, 5], [1, 3, 4]):
            torch.testing.assert_close(without_blocks(model, blocks)(X), out)
    assert len(residual_blocks(model)) == 6
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_deleting_plain_blocks_skips_them_or_pads():
    model, X = _model(depth=14, residual=False), _images(2)
    copy = without_blocks(model, [1, 2])  # layer1.1 (same shape) and layer2.0 (downsampling)
    assert isinstance(copy.layer1[1].shortcut, nn.Identity)
    assert isinstance(copy.layer2[0].shortcut, PadShortcut)
    with torch.no_grad():
        x = model.layer1[0](F.relu(model.bn1(model.conv1(X))))
        x = model.layer2[1](PadShortcut(4, 8, 2)(x))
        expected = model.fc(torch.flatten(model.avgpool(model.layer3(x)), 1))
        torch.testing.assert_close(copy(X), expected)


def test_without_blocks_keeps_the_mode_and_checks_its_arguments():
    model = _model().train()
    assert without_blocks(model, []).training and without_blocks(model, [0]).layer1[0].training
    with pytest.raises(ValueError, match=r"blocks\[1\] = 3 is out of range.*0 to 2"):
        without_blocks(model, [0, 3])
    with pytest.raises(ValueError, match=r"blocks\[0\] must be an int >= 0"):
        without_blocks(model, [-1])
    with pytest.raises(TypeError, match=r"blocks\[0\] must be an int"):
        without_blocks(model, [1.0])
    with pytest.raises(TypeError, match="list of block indices"):
        without_blocks(model, 1)
    with pytest.raises(ValueError, match="has 0 residual blocks"):
        without_blocks(nn.Sequential(nn.Conv2d(1, 1, 3)), [0])


# random_direction and loss_landscape ---------------------------------------------------------


def test_random_direction_is_filter_normalised_and_seeded():
    model = _model()
    d = random_direction(model, seed=3)
    params = dict(model.named_parameters())
    assert set(d) == set(params)
    for name, w in params.items():
        assert d[name].shape == w.shape
        if w.ndim == 1:  # biases and batch-norm parameters do not move
            assert not d[name].any()
        else:
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), w.flatten(1).norm(dim=1))
    again, other = random_direction(model, seed=3), random_direction(model, seed=4)
    assert all(torch.equal(d[n], again[n]) for n in d)
    assert not torch.equal(d["conv1.weight"], other["conv1.weight"])


def _batches(n=40, batch=16):
    X = _images(n, size=8, seed=5)
    y = torch.arange(n) % 10
    return [(X[i : i + batch], y[i : i + batch]) for i in range(0, n, batch)]


def test_loss_at_zero_is_the_models_loss_and_a_step_is_a_shifted_model():
    model, loader = _model(), _batches()
    X = torch.cat([b[0] for b in loader])
    y = torch.cat([b[1] for b in loader])
    with torch.no_grad():
        loss0 = F.cross_entropy(model(X), y).item()
    d1, d2 = random_direction(model, 0), random_direction(model, 1)
    line = loss_landscape(model, F.cross_entropy, loader, d1, [-0.5, 0.0, 0.25])
    assert line.shape == (3,) and abs(line[1].item() - loss0) < 1e-5
    surface = loss_landscape(model, F.cross_entropy, loader, [d1, d2], torch.tensor([0.0, 0.5]))
    assert surface.shape == (2, 2) and abs(surface[0, 0].item() - loss0) < 1e-5
    shifted = cifar_resnet(8, in_channels=1, width=4).eval()
    state = model.state_dict()
    shifted.load_state_dict({k: v + 0.5 * d2[k] if k in d2 else v for k, v in state.items()})
    with torch.no_grad():
        assert abs(surface[0, 1].item() - F.cross_entropy(shifted(X), y).item()) < 1e-5
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # untouched
    assert abs(line[0].item() - surface[0, 0].item()) > 1e-4  # the direction does move


def test_loss_landscape_bad_arguments():
    model, loader = _model(), _batches()
    d = random_direction(model)
    with pytest.raises(ValueError, match="alphas must be a non-empty list"):
        loss_landscape(model, F.cross_entropy, loader, d, [])
    with pytest.raises(ValueError, match="one or two directions"):
        loss_landscape(model, F.cross_entropy, loader, [d, d, d], [0.0])
    with pytest.raises(ValueError, match=r"directions\[0\] does not match"):
        loss_landscape(model, F.cross_entropy, loader, random_direction(_model(14)), [0.0])
    bad = {**d, "conv1.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match="not of the parameter's shape"):
        loss_landscape(model, F.cross_entropy, loader, bad, [0.0])
    with pytest.raises(ValueError, match="finite"):
        loss_landscape(model, F.cross_entropy, loader, d, [0.0, float("nan")])
    with pytest.raises(TypeError, match="loss_fn"):
        loss_landscape(model, "ce", loader, d, [0.0])
    with pytest.raises(ValueError, match="no examples"):
        loss_landscape(model, F.cross_entropy, [], d, [0.0])


def test_a_layer_that_outputs_a_tuple_is_refused_clearly():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pair, self.fc = nn.Conv2d(1, 4, 3), Pair(), nn.Linear(4, 3)

        def forward(self, x):
            a, _ = self.pair(self.conv(x))
            return self.fc(a.mean((2, 3)))

    net, X = Net(), _images(2, size=6)
    with pytest.raises(ValueError, match="4-D .* got a tuple"):
        grad_cam(net, "pair", X, 0)
    with pytest.raises(TypeError, match="'pair' outputs a tuple"):
        feature_maps(net, X, ["pair"])
    assert grad_cam(net, "conv", X, 0).shape == (2, 6, 6)


# what a network is made of (chapters 4 and 9) ----------------------------------------------------


def test_trace_shapes_follows_the_forward_pass():
    model = resnet18().train()
    trace = dict(trace_shapes(model, torch.zeros(1, 3, 224, 224)))
    assert trace["maxpool"] == (1, 64, 56, 56) and trace["layer4"] == (1, 512, 7, 7)
    assert trace["fc"] == (1, 1000) and model.training  # mode restored
    cifar = dict(trace_shapes(cifar_resnet(20), torch.zeros(2, 3, 32, 32), ["layer1", "layer3.2"]))
    assert cifar == {"layer1": (2, 16, 32, 32), "layer3.2": (2, 64, 8, 8)}
    with pytest.raises(ValueError, match="names"):
        trace_shapes(model, torch.zeros(1, 3, 32, 32), ["layer9"])


def test_residual_blocks_in_order():
    names = [n for n, _ in residual_blocks(resnet34())]
    assert len(names) == 16 and names[0] == "layer1.0" and names[-1] == "layer4.2"
    assert len(residual_blocks(resnet50())) == 16


def test_backbone_features_are_the_inputs_of_fc():
    import copy

    torch.manual_seed(0)
    model = cifar_resnet(8, in_channels=1, width=4)
    model.train()
    model(torch.randn(16, 1, 8, 8))
    x = torch.randn(5, 1, 8, 8)
    body = copy.deepcopy(model).eval()
    body.fc = nn.Identity()
    with torch.no_grad():
        expected = body(x)
    torch.testing.assert_close(backbone_features(model, x), expected)
    assert model.training  # the mode is restored
    with pytest.raises(TypeError, match="fc"):
        backbone_features(nn.Linear(2, 2), x)
