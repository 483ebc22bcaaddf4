#!/usr/bin/env python3
"""Scripts a PyTorch model into the file `srigl train --set model=torchscript` reads.

    export_torchscript.py MODEL OUT.pt [--input C,H,W] [--classes N] [--arg NAME=VALUE ...] [--trace]

MODEL is your own class, `path/to/file.py:ClassName` or `package.module:ClassName` (constructed with
the --arg keyword arguments, values read as Python literals), or `torchvision:NAME` for a torchvision
model (`torchvision:resnet18 --classes 10`; add `--arg cifar_stem=True` for the 3x3, stride-1 first
convolution and no max-pool that CIFAR-sized inputs want).

The model is put in float32 and scripted with torch.jit.script; a model that TorchScript cannot
compile is traced instead (or with --trace), on a batch of the --input shape (default 1,28,28,
MNIST). The written file is loaded back and run on that input, and its output is checked to be one
score per class. Then the Linear and Conv2d layers SRigL Studio will make sparse are listed with
their shapes (choose among them with `--set sparse_layers=...`, see docs/your_model.md).
Exit code 0 when the file was written and checked.
"""
import argparse
import ast
import importlib
import importlib.util
import os
import sys

import torch
from torch import nn


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="file.py:Class, package.module:Class or torchvision:NAME")
    parser.add_argument("out", help="the TorchScript file to write")
    parser.add_argument("--input", default="1,28,28", help="C,H,W of one input image (1,28,28 MNIST; 3,32,32 CIFAR-10)")
    parser.add_argument("--classes", type=int, default=10, help="classes of the dataset")
    parser.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE",
                        help="keyword argument of the model's constructor (a Python literal)")
    parser.add_argument("--trace", action="store_true", help="trace instead of script")
    return parser.parse_args()


def keyword_args(items):
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            sys.exit("--arg %s: expected NAME=VALUE" % item)
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text  # a bare word is a string
    return out


def model_class(spec):
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        sys.exit("MODEL %s: expected file.py:Class, package.module:Class or torchvision:NAME" % spec)
    if where.endswith(".py"):
        if not os.path.isfile(where):
            sys.exit("MODEL %s: no such file %s" % (spec, where))
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        loader = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(where))[0], where)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    if not hasattr(module, name):
        sys.exit("MODEL %s: %s has no %s" % (spec, where, name))
    return getattr(module, name)


def torchvision_model(name, classes, kwargs):
    try:
        import torchvision
    except ImportError:
        sys.exit("torchvision is not installed (apt install python3-torchvision, or pip install torchvision)")
    cifar_stem = kwargs.pop("cifar_stem", False)
    model = getattr(torchvision.models, name)(num_classes=classes, **kwargs)
    if cifar_stem:
        # The CIFAR variant of an ImageNet ResNet: 32x32 inputs keep their resolution in the stem.
        model.conv1 = nn.Conv2d(3, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    return model


def build(args):
    kwargs = keyword_args(args.arg)
    if args.model.startswith("torchvision:"):
        return torchvision_model(args.model.split(":", 1)[1], args.classes, kwargs)
    return model_class(args.model)(**kwargs)


def main():
    args = parse_args()
    try:
        shape = [int(v) for v in args.input.split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3 or min(shape) < 1:
        sys.exit("--input %s: expected C,H,W such as 1,28,28" % args.input)
    model = build(args).float().eval()
    example = torch.randn(2, *shape)
    try:
        with torch.no_grad():
            model(example)
    except Exception as e:  # a shape error says more before scripting than from inside the interpreter
        sys.exit("%s does not take input %s: %s" % (args.model, [2] + shape, str(e).strip().splitlines()[-1]))
    scripted, how = None, "scripted"
    if not args.trace:
        try:
            scripted = torch.jit.script(model)
        except Exception as e:  # TorchScript cannot compile every Python model; tracing records one run instead
            print("torch.jit.script failed (%s); tracing instead" % str(e).splitlines()[0], file=sys.stderr)
    if scripted is None:
        scripted, how = torch.jit.trace(model, example), "traced"
    scripted.save(args.out)

    loaded = torch.jit.load(args.out)
    loaded.eval()
    with torch.no_grad():
        output = loaded(example)
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != (2, args.classes):
        sys.exit("%s: output for input %s is %s, not [2, %d] (one score per class)"
                 % (args.out, [2] + shape, getattr(output, "shape", type(output).__name__), args.classes))
    layers = [(name, type(m).__name__, tuple(m.weight.shape)) for name, m in model.named_modules()
              if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        sys.exit("%s has no Linear or Conv2d layer: nothing to make sparse" % args.model)
    print("wrote %s (%s): input %s, %d classes; layers SRigL Studio makes sparse:"
          % (args.out, how, shape, args.classes))
    for name, kind, weight in layers:
        print("  %-32s %-7s weight %s" % (name, kind, list(weight)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
