#!/usr/bin/env python3
"""Writes the small PyTorch checkpoints the import/export tests read (Debian's python3-torch, no network).

Usage: pytorch_checkpoints.py FOLDER. Every mask is built by hand so the tests know exactly what to
expect (tests/engine/test_pytorch_checkpoint.cpp, tests/cli/test_cli_pytorch.cpp):
  fc1 [6, 12]: neuron r keeps inputs r .. r+3 (constant fan-in 4), neuron 5 keeps nothing (ablated)
  fc2 [3, 6]:  unstructured, fan-in 2, 3 and 1
"""
import os
import sys

import torch
from torch import nn
import torch.nn.utils.prune as prune


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 6)
        self.fc2 = nn.Linear(6, 3)


class Config:  # a class the importer must refuse: it is not plain data
    lr = 0.1


def fc1_mask():
    m = torch.zeros(6, 12, dtype=torch.bool)
    for r in range(5):
        m[r, r:r + 4] = True
    return m


def fc2_mask():
    m = torch.zeros(3, 6, dtype=torch.bool)
    m[0, [0, 5]] = True
    m[1, [1, 2, 3]] = True
    m[2, [4]] = True
    return m


def net():
    torch.manual_seed(0)
    n = Net()
    with torch.no_grad():  # no weight exactly zero, so a mask from nonzeros is the mask we put there
        for layer in (n.fc1, n.fc2):
            layer.weight.copy_(layer.weight.sign() * (layer.weight.abs() + 0.01))
    return n


def zeroed(n, masks):
    with torch.no_grad():
        n.fc1.weight.mul_(masks[0])
        n.fc2.weight.mul_(masks[1])
    return n


def main(folder):
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name)
    masks = (fc1_mask(), fc2_mask())

    # A plain state_dict (an OrderedDict) whose zeros are the masks.
    torch.save(zeroed(net(), masks).state_dict(), path("plain.pt"))

    # Explicit bool masks beside dense weights (the masks must win over the nonzeros), and a conv.
    sd = net().state_dict()
    sd["fc1.mask"], sd["fc2.mask"] = masks
    conv = torch.randn(4, 2, 3, 3)
    conv_mask = torch.zeros(4, 2, 3, 3, dtype=torch.bool)
    conv_mask[:, :, 1, :] = True  # fan-in 6 of 18 for every output channel
    sd["conv.weight"], sd["conv.mask"] = conv, conv_mask
    torch.save(sd, path("masked.pt"))

    # torch.nn.utils.prune: weight_orig (dense) and weight_mask (float) per pruned layer.
    n = net()
    prune.custom_from_mask(n.fc1, "weight", masks[0])
    prune.custom_from_mask(n.fc2, "weight", masks[1])
    torch.save(n.state_dict(), path("pruned.pt"))

    # A training checkpoint around the state_dict, as the SRigL reference code writes one.
    n = zeroed(net(), masks)
    optimizer = torch.optim.SGD(n.parameters(), lr=0.1, momentum=0.9)
    torch.save({"epoch": 3, "state_dict": n.state_dict(), "optimizer": optimizer.state_dict(),
                "best_acc": 0.75, "args": {"lr": 0.1, "arch": "net", "milestones": [30, 60]}}, path("nested.pt"))

    # A parametrized model with the masks in the sparsifier's own state (torch.ao.sparsity, as
    # sparsimony saves {"model": ..., "sparsifier": ...}).
    try:
        from torch.ao.sparsity import WeightNormSparsifier
    except ImportError:
        from torch.ao.pruning import WeightNormSparsifier
    n = net()
    sparsifier = WeightNormSparsifier(sparsity_level=1.0, sparse_block_shape=(1, 1), zeros_per_block=1)
    sparsifier.prepare(n, config=[{"tensor_fqn": "fc1.weight"}, {"tensor_fqn": "fc2.weight"}])
    with torch.no_grad():
        sparsifier.state["fc1.weight"]["mask"].copy_(masks[0])
        sparsifier.state["fc2.weight"]["mask"].copy_(masks[1])
    state = sparsifier.state_dict()
    torch.save({"model": n.state_dict(), "sparsifier": {"state": state["state"]}}, path("sparsifier.pt"))

    # Three checkpoints of one training: step 200 moves 3 connections of fc1 (SAD 6), step 300 one
    # of fc2 (SAD 2); written out of order so the importer has to sort by the step in the name.
    m200 = (masks[0].clone(), masks[1].clone())
    for r, (old, new) in {0: (0, 11), 1: (1, 10), 2: (5, 9)}.items():
        m200[0][r, old], m200[0][r, new] = False, True
    m300 = (m200[0].clone(), m200[1].clone())
    m300[1][2, 4], m300[1][2, 0] = False, True
    for step, m in ((300, m300), (100, masks), (200, m200)):
        torch.save(zeroed(net(), m).state_dict(), path("step_%d.pt" % step))

    # Bad inputs.
    torch.save({"fc1.weight": torch.randn(6, 12), "config": Config()}, path("unknown_class.pt"))
    torch.save({"bn.weight": torch.ones(6), "bn.bias": torch.zeros(6), "scale": torch.tensor(2.0)}, path("no_layers.pt"))
    sd = net().state_dict()
    sd["fc1.mask"] = torch.ones(6, 11, dtype=torch.bool)
    torch.save(sd, path("mask_shape.pt"))
    torch.save(sd, path("legacy.pt"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main(sys.argv[1])
