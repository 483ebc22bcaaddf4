#!/usr/bin/env python3
"""Writes the small TorchScript modules the model=torchscript tests train (Debian's python3-torch, no network).

Usage: torchscript_models.py FOLDER. What each file holds (tests/engine/test_torchscript_model.cpp,
tests/cli/test_cli_torchscript.cpp):
  mlp.pt          torch.jit.script of the built-in mlp's architecture: fc1 784->300, fc2 300->100,
                  fc3 100->10, ReLU between, input flattened
  mlp_traced.pt   the same module through torch.jit.trace
  cnn.pt          conv1 1->8 3x3 pad 1, bn1, ReLU, 2x2 max-pool, conv2 8->16 3x3 pad 1, bn2, ReLU,
                  max-pool, fc 784->10 (BatchNorm buffers, train/eval behaviour)
  custom.pt       a user's own layer `proj` (a 2-D Parameter `weight` used through F.linear) and a
                  torch.nn Linear `head`: only a sparse_layers pattern makes `proj` sparse
  no_layers.pt    no Linear or Conv2d at all (a learned per-pixel scale)
  cifar_mlp.pt    an MLP for 3x32x32 input: does not fit 1x28x28 data
  state_dict.pt   a torch.save'd state_dict: not TorchScript
  truncated.pt    the first half of mlp.pt
"""
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F


class Mlp(nn.Module):
    def __init__(self, sizes=(784, 300, 100, 10)):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.fc3 = nn.Linear(sizes[2], sizes[3])

    def forward(self, x):
        x = x.flatten(1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.flatten(1))


class MyLinear(nn.Module):
    def __init__(self, fan_in, out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out, fan_in) * 0.05)
        self.shift = nn.Parameter(torch.zeros(out))

    def forward(self, x):
        return F.linear(x, self.weight) + self.shift


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = MyLinear(784, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(torch.relu(self.proj(x.flatten(1))))


class NoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, 1, 28, 28))

    def forward(self, x):
        return (x * self.scale).flatten(1)[:, :10]


def main(folder):
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name)
    torch.manual_seed(0)
    torch.jit.script(Mlp()).save(path("mlp.pt"))
    torch.jit.trace(Mlp(), torch.zeros(2, 1, 28, 28)).save(path("mlp_traced.pt"))
    torch.jit.script(Cnn()).save(path("cnn.pt"))
    torch.jit.script(Custom()).save(path("custom.pt"))
    torch.jit.script(NoLayers()).save(path("no_layers.pt"))
    torch.jit.script(Mlp((3072, 64, 32, 10))).save(path("cifar_mlp.pt"))
    torch.save(Mlp().state_dict(), path("state_dict.pt"))
    with open(path("mlp.pt"), "rb") as f:
        data = f.read()
    with open(path("truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])


if __name__ == "__main__":
    main(sys.argv[1])
