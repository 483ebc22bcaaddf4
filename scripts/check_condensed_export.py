#!/usr/bin/env python3
"""Loads a `srigl export --condensed` folder with PyTorch (no SRigL code) and checks it.

Reads manifest.json, rebuilds the condensed classifier from the .npy files and runs it on the
folder's check_features.npy; the result must match check_output.npy (max |diff| / max |ref|).
Usage: check_condensed_export.py FOLDER [--tolerance 1e-5]   Exit code 0 when it matches.
The same few lines are how a researcher uses an export in their own PyTorch code.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch


def load(folder, name):
    return torch.from_numpy(np.load(os.path.join(folder, name)))


def condensed_linear(x, values, indices, bias):
    # y[b, r] = bias[r] + sum_j values[r, j] * x[b, indices[r, j]]
    gathered = x[:, indices.long()]  # [batch, rows, k]
    return (gathered * values).sum(-1) + bias


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    with open(os.path.join(args.folder, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != "srigl-condensed":
        sys.exit("not a srigl-condensed export")
    x = load(args.folder, manifest["check"]["features"])
    for layer in manifest["classifier"]:
        x = condensed_linear(x, load(args.folder, layer["values"]), load(args.folder, layer["indices"]),
                             load(args.folder, layer["bias"]))
        if layer["activation"] == "relu":
            x = torch.relu(x)
    expected = load(args.folder, manifest["check"]["output"])
    error = ((x.double() - expected.double()).abs().max() / expected.abs().max().clamp_min(1e-30)).item()
    print(json.dumps({"layers": len(manifest["classifier"]), "max_rel_error": error, "torch": torch.__version__}))
    return 0 if error <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
