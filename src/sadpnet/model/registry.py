"""Architectures by name: torchvision ResNets with a one-channel input.

``build_model("resnet18", num_classes=5)`` returns a ``torch.nn.Module`` mapping a float32 batch of shape
(B, 1, H, W) (H = W = the card's ``image_size_px``; any size >= 32 works, the ResNet ends in global average
pooling) to logits of shape (B, num_classes). No pretrained weights are ever downloaded.

The network also exposes ``features(x) -> (B, C)`` (the pooled penultimate features, C = 512 for
ResNet-18/34 and 2048 for ResNet-50/101) for feature-distance out-of-distribution scores.
"""

from __future__ import annotations

from sadpnet.errors import InputError

#: Architecture name -> torchvision constructor name.
ARCHITECTURES = {
    "resnet18": "resnet18",
    "resnet34": "resnet34",
    "resnet50": "resnet50",
    "resnet101": "resnet101",
}


def build_model(arch: str, num_classes: int, *, in_channels: int = 1):
    """A torchvision ResNet with ``in_channels`` input channels and ``num_classes`` outputs (random init).

    conv1 is replaced by a ``in_channels``-channel 7x7/2 convolution (same shape as torchvision's, weights
    initialised the same way); everything else is torchvision's own architecture.
    """
    import torch

    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}", "--arch")
    if num_classes < 2:
        raise InputError(f"need at least 2 classes, got {num_classes}", "labels")
    net = getattr(_resnet_module(), ARCHITECTURES[arch])(weights=None, num_classes=int(num_classes))
    old = net.conv1
    net.conv1 = torch.nn.Conv2d(in_channels, old.out_channels, kernel_size=old.kernel_size, stride=old.stride,
                                padding=old.padding, bias=False)
    torch.nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    return _with_features(net)


_RESNET = None


def _resnet_module():
    """torchvision.models.resnet, without importing all of torchvision when it is not loaded yet.

    ``import torchvision`` imports every model, dataset and op, and torchvision.ops pulls in torch._dynamo:
    seconds at every ``sadpnet classify``. The ResNet module needs only a few siblings, so when torchvision is
    not imported yet, its package and ``torchvision.models`` are entered as bare namespace modules just for
    this import and taken out of ``sys.modules`` again afterwards (a later ``import torchvision`` elsewhere
    gets the complete package). The architecture code is torchvision's own either way.
    """
    global _RESNET
    if _RESNET is not None:
        return _RESNET
    import importlib
    import importlib.util
    import sys
    import types

    if "torchvision" in sys.modules:
        _RESNET = importlib.import_module("torchvision.models.resnet")
        return _RESNET
    before = set(sys.modules)
    try:
        for name in ("torchvision", "torchvision.models"):
            spec = importlib.util.find_spec(name)
            stub = types.ModuleType(name)
            stub.__path__ = list(spec.submodule_search_locations)
            stub.__spec__ = spec
            sys.modules[name] = stub
        _RESNET = importlib.import_module("torchvision.models.resnet")
    finally:
        for name in set(sys.modules) - before:
            if name == "torchvision" or name.startswith("torchvision."):
                del sys.modules[name]
    return _RESNET


def _with_features(net):
    """Attach ``features(x)``: the globally pooled input of the final fully connected layer, (B, C)."""
    import types

    import torch

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward_with_features(self, x):
        f = self.features(x)
        return self.fc(f), f

    net.features = types.MethodType(features, net)
    net.forward_with_features = types.MethodType(forward_with_features, net)
    return net
