#!/usr/bin/env python3
"""Loads a `srigl export ID --pytorch FILE.pt` state_dict with plain PyTorch (no SRigL code) and checks it.

Builds the built-in MLP (fc1 ... fcN, ReLU between them), LeNet-5 or ResNet-18 as a torch.nn module (for a
model=torchscript run: loads the trained module the export wrote in FILE.script.pt, and checks it
both as written and with the state_dict loaded into it), loads the exported weights into it, checks that every weight is zero outside its <layer>.mask, runs it on the input of
the check pair the engine wrote beside the export (FILE.check.pt) and compares with the engine's
output there (max |diff| / max |ref|). Usage:
    check_pytorch_export.py FILE.pt [--check FILE.check.pt] [--script FILE.script.pt] [--tolerance 1e-5]
Exit code 0 when it matches. The same few lines are how a researcher loads an export into their own
model: model.load_state_dict({k: v for k, v in sd.items() if not k.endswith(".mask")}).
"""
import argparse
import json
import os
import re
import sys

import torch
from torch import nn


class Mlp(nn.Module):
    """The engine's mlp model: Linear layers named fc1..fcN with a ReLU between them."""

    def __init__(self, sizes):
        super().__init__()
        for i, (fan_in, out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.add_module("fc%d" % (i + 1), nn.Linear(fan_in, out))
        self.depth = len(sizes) - 1

    def forward(self, x):
        x = x.flatten(1)
        for i in range(self.depth):
            x = getattr(self, "fc%d" % (i + 1))(x)
            if i + 1 < self.depth:
                x = torch.relu(x)
        return x


class LeNet5(nn.Module):
    """The engine's lenet5 model (engine/models/lenet5.cpp): inputs below 32x32 padded to 32 by conv1,
    each convolution followed by a 2x2 max-pool and then ReLU, three Linear layers."""

    def __init__(self, state, height):
        super().__init__()
        channels = state["conv1.weight"].shape[1]
        pad = (32 - height + 1) // 2 if height < 32 else 0
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(state["fc1.weight"].shape[1], 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, state["fc3.weight"].shape[0])

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2(x), 2))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(x)))


class Block(nn.Module):
    """A basic block of the engine's resnet18 (engine/models/resnet18.cpp): two 3x3 convolutions without
    bias, each with batch norm, and a 1x1 convolution + batch norm shortcut where the shape changes."""

    def __init__(self, fan_in, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(fan_in, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.shortcut = None
        if stride != 1 or fan_in != out:
            self.shortcut = nn.Conv2d(fan_in, out, 1, stride, 0, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(out)

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        skip = self.shortcut_bn(self.shortcut(x)) if self.shortcut is not None else x
        return torch.relu(y + skip)


class ResNet18(nn.Module):
    """The engine's resnet18: the CIFAR variant (3x3 stem, no max-pool), stages of two blocks each at
    64, 128, 256, 512 channels, global average pool, fc."""

    def __init__(self, state):
        super().__init__()
        self.conv1 = nn.Conv2d(state["conv1.weight"].shape[1], 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, fan_in = [], 64
        for stage, width in enumerate((64, 128, 256, 512)):
            blocks += [Block(fan_in, width, 1 if stage == 0 else 2), Block(width, width, 1)]
            fan_in = width
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, state["fc.weight"].shape[0])

    def forward(self, x):
        x = self.layers(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def is_resnet18(state):
    return "layers.7.conv2.weight" in state and "layers.6.shortcut.weight" in state and "fc.weight" in state


def is_lenet5(state):
    names = {k.rsplit(".", 1)[0] for k in state}
    return names == {"conv1", "conv2", "fc1", "fc2", "fc3"}


def mlp_sizes(state):
    """Layer sizes of an exported MLP, or None when the state_dict is not one."""
    layers = sorted(int(m.group(1)) for k in state for m in [re.fullmatch(r"fc(\d+)\.weight", k)] if m)
    if not layers or layers != list(range(1, len(layers) + 1)):
        return None
    if any(not re.fullmatch(r"fc\d+\.(weight|bias|mask)", k) for k in state):
        return None
    sizes = [state["fc1.weight"].shape[1]]
    for i in layers:
        sizes.append(state["fc%d.weight" % i].shape[0])
    return sizes


def beside(path, tag):
    stem, ext = os.path.splitext(path)
    return stem + tag + (ext or ".pt")


def relative_error(y, expected):
    return ((y.double() - expected.double()).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--check", help="the check pair (default: FILE with .check before the extension)")
    parser.add_argument("--script", help="the trained TorchScript module (default: FILE with .script before the "
                        "extension, when it exists)")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    # weights_only: what torch.load does by default from PyTorch 2.6 on (the file must need no global
    # beyond tensors and containers); PyTorch 1.13 has the option and the same refusal.
    state = torch.load(args.file, map_location="cpu", weights_only=True)
    check = torch.load(args.check or beside(args.file, ".check"), map_location="cpu", weights_only=True)
    for key, mask in state.items():
        if key.endswith(".mask"):
            weight = state[key[: -len(".mask")] + ".weight"]
            if mask.dtype != torch.bool or mask.shape != weight.shape:
                sys.exit("%s: not a bool mask of its weight's shape" % key)
            outside = weight.masked_select(~mask)
            if outside.numel() and outside.abs().max().item() != 0.0:
                sys.exit("%s: nonzero weights outside the mask" % key)
    weights = {k: v for k, v in state.items() if not k.endswith(".mask")}
    script = args.script or beside(args.file, ".script")
    errors = []
    if os.path.exists(script):
        # The module as the export wrote it: its own weights are W * M already.
        model = torch.jit.load(script, map_location="cpu")
        model.eval()
        with torch.no_grad():
            errors.append(relative_error(model(check["input"]), check["output"]))
        own = model.state_dict()
        for key, mask in state.items():
            if not key.endswith(".mask"):
                continue
            outside = own[key[: -len(".mask")] + ".weight"].masked_select(~mask)
            if outside.numel() and outside.abs().max().item() != 0.0:
                sys.exit("%s: the TorchScript module holds weights outside %s" % (script, key))
        described = {"model": "torchscript", "script": script}
    else:
        sizes = mlp_sizes(state)
        if sizes is not None:
            model, described = Mlp(sizes), {"model": "mlp", "layers": len(sizes) - 1, "sizes": sizes}
        elif is_lenet5(state) and check["input"].dim() == 4:
            model, described = LeNet5(state, check["input"].shape[2]), {"model": "lenet5", "layers": 5}
        elif is_resnet18(state):
            model, described = ResNet18(state), {"model": "resnet18", "layers": 21}
        else:
            sys.exit("this check builds the built-in mlp (fc1..fcN), lenet5 and resnet18, or loads FILE.script.pt; "
                     "this state_dict is another model")
    model.load_state_dict(weights)
    model.eval()
    with torch.no_grad():
        errors.append(relative_error(model(check["input"]), check["output"]))
    error = max(errors)
    kept = {k[: -len(".mask")]: int(v.sum()) for k, v in state.items() if k.endswith(".mask")}
    print(json.dumps(dict(described, kept=kept, max_rel_error=error, torch=torch.__version__)))
    return 0 if error <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
