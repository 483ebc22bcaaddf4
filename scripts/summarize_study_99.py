#!/usr/bin/env python3
"""The study "Closing the 99% gap" of docs/results.md (scripts/study_99.sh).

  summarize_study_99.py enrich RAW.jsonl [--keep]
      For every line of RAW.jsonl (scripts/mnist_experiments.sh with CKPT_DIR set) reads the run's
      final checkpoint, adds "masks" (per sparse layer, from the final masks: neurons, ablated,
      active, fan-in min/max, kept weights, active neurons that no kept weight of the next layer
      reads and the kept weights they hold, active neurons with no path to the output), drops the
      "checkpoint" path and prints the line. Deletes the checkpoint unless --keep. Needs torch.

  summarize_study_99.py [RUNS.jsonl [SVG]]
      Markdown tables (accuracy mean ± std over seeds per variant and sparsity; ablated and unused
      neurons; SparseOpt neutrality) and an SVG of accuracy against sparsity with error bars.
      Standard library only. Defaults: docs/data/study_99.jsonl, docs/study_99.svg.
"""
import json
import os
import statistics
import struct
import sys
from collections import defaultdict

# ----------------------------------------------------------------------------- masks (enrich)


def read_checkpoint(path):
    """The tensors of a SRigL Studio checkpoint: container header, then a LibTorch archive."""
    import io
    import torch

    data = open(path, "rb").read()
    if data[:4] == b"PK\x03\x04":  # legacy: the bare archive
        payload = data
    else:
        if data[:8] != b"SRIGLCKP":
            raise SystemExit(f"{path}: not a SRigL Studio checkpoint")
        (uuid_len,) = struct.unpack_from("<I", data, 12)
        # magic 8, format 4, uuid length 4, uuid, step 8, payload size 8, payload crc 4, header crc 4
        payload = data[16 + uuid_len + 8 + 8 + 4 + 4:]
    return expand_condensed(torch.jit.load(io.BytesIO(payload), map_location="cpu").state_dict())


def expand_condensed(state):
    """Layers that trained condensed are held as condensed.I.{values,indices,alive,name,shape} (I: the
    layer's place among the model's sparse layers; docs/sparse_training.md): give them back their
    model.<name>.weight and .mask, the sparse layers first in the model's order."""
    import torch

    held = {}
    for key in state:
        if key.startswith("condensed.") and key.endswith(".values"):
            i = int(key.split(".")[1])
            p = f"condensed.{i}."
            name = bytes(state[p + "name"].tolist()).decode()
            shape = [int(x) for x in state[p + "shape"].tolist()]
            values, alive = state[p + "values"], state[p + "alive"].to(torch.float32)
            idx = state[p + "indices"].to(torch.long)
            fan_in = 1
            for d in shape[1:]:
                fan_in *= d
            w = torch.zeros(shape[0], fan_in).scatter_(1, idx, values * alive)
            m = torch.zeros(shape[0], fan_in, dtype=torch.bool).scatter_(1, idx, alive.bool().expand_as(idx))
            held[i] = (name, w.reshape(shape), m.reshape(shape))
    if not held:
        return state
    dense = [k[len("model."):-len(".mask")] for k in state if k.startswith("model.") and k.endswith(".mask")]
    order, rest = [], iter(dense)
    for i in range(len(dense) + len(held)):
        order.append(held[i][0] if i in held else next(rest))
    out = {}
    for i, name in enumerate(order):
        if i in held:
            out["model." + name + ".weight"], out["model." + name + ".mask"] = held[i][1], held[i][2]
        else:
            out["model." + name + ".weight"] = state["model." + name + ".weight"]
            out["model." + name + ".mask"] = state["model." + name + ".mask"]
    for key, t in state.items():
        if key not in out and not key.startswith("condensed."):
            out[key] = t
    return out


def mask_stats(path):
    import torch

    state = read_checkpoint(path)
    names = [k[len("model."):-len(".weight")] for k in state if k.startswith("model.") and k.endswith(".weight")]
    masks = []
    for n in names:
        w = state["model." + n + ".weight"]
        m = state.get("model." + n + ".mask")
        m = torch.ones_like(w, dtype=torch.bool) if m is None else m.to(torch.bool)
        masks.append(m.reshape(m.shape[0], -1))
    # Which neurons have a path of kept weights to the output (the last layer's all do).
    reaches = [None] * len(masks)
    reaches[-1] = torch.ones(masks[-1].shape[0], dtype=torch.bool)
    for i in range(len(masks) - 2, -1, -1):
        nxt = masks[i + 1]
        reaches[i] = nxt[reaches[i + 1]].any(0) if nxt.shape[1] == masks[i].shape[0] else torch.ones(
            masks[i].shape[0], dtype=torch.bool)
    layers = []
    for i, (n, m) in enumerate(zip(names, masks)):
        fan = m.sum(1)
        active = fan > 0
        kept = int(fan.sum())
        d = {"name": n, "neurons": int(m.shape[0]), "active": int(active.sum()), "ablated": int((~active).sum()),
             "kept": kept,
             "fan_in_min": int(fan[active].min()) if active.any() else 0,
             "fan_in_max": int(fan[active].max()) if active.any() else 0}
        if i + 1 < len(masks) and masks[i + 1].shape[1] == m.shape[0]:
            feeds = masks[i + 1].any(0)
            unused = active & ~feeds
            dead = active & ~reaches[i]
            d.update({"unused": int(unused.sum()), "unused_weights": int(fan[unused].sum()),
                      "dead": int(dead.sum()), "dead_weights": int(fan[dead].sum())})
        layers.append(d)
    return layers


def enrich(raw_path, keep):
    for line in open(raw_path):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            print(f"summarize_study_99: skipping a failed run: {line[:200]}", file=sys.stderr)
            continue
        ckpt = d.pop("checkpoint", None)
        if ckpt and os.path.exists(ckpt):
            d["masks"] = mask_stats(ckpt)
            if not keep:
                os.remove(ckpt)
        print(json.dumps(d, separators=(",", ":")))


# ----------------------------------------------------------------------------- summary

ORDER = ["rigl", "rigl+sparse_opt", "set",
         "srigl-0.3", "srigl-0.3+ablate_unused", "srigl-0.3+sparse_opt",
         "srigl-0.9", "srigl-0.9+ablate_unused",
         "srigl-0", "srigl-0+sparse_opt", "srigl-0.9+sparse_opt",
         "srigl-0.3+ablate_unused+sparse_opt", "srigl-0.9+ablate_unused+sparse_opt"]
COLORS = {"rigl": "#0072b2", "rigl+sparse_opt": "#56b4e9", "set": "#e69f00",
          "srigl-0.3": "#d55e00", "srigl-0.3+ablate_unused": "#009e73", "srigl-0.3+sparse_opt": "#cc79a7",
          "srigl-0.9": "#7f3c00", "srigl-0.9+ablate_unused": "#00573f",
          "srigl-0": "#999999", "srigl-0+sparse_opt": "#555555", "srigl-0.9+sparse_opt": "#b07aa1",
          "srigl-0.3+ablate_unused+sparse_opt": "#8fd19e", "srigl-0.9+ablate_unused+sparse_opt": "#2f7f5f"}
MAIN_SEEDS = {1, 2, 3}  # the recipe's seeds; more seeds (EXTRA_SEEDS) get a table of their own


def pct(s):
    return f"{int(round(s * 100))}%"


def mean_std(values, digits=2):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def span(values):
    """'a' when all equal, else 'min-max'."""
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def summarize(runs_path, svg_path):
    runs = defaultdict(list)  # (variant, sparsity) -> [line], seeds 1-3
    every = defaultdict(list)  # (variant, sparsity) -> [line], all seeds
    for line in open(runs_path):
        if line.strip():
            d = json.loads(line)
            every[(d["variant"], d["sparsity"])].append(d)
            if d["seed"] in MAIN_SEEDS:
                runs[(d["variant"], d["sparsity"])].append(d)
    variants = [v for v in ORDER if any(k[0] == v for k in every)] + sorted(
        {k[0] for k in every} - set(ORDER))
    sparsities = sorted({k[1] for k in every})
    acc = {k: [100.0 * d["result"]["test_accuracy"] for d in v] for k, v in runs.items()}

    def seeds_of(v, s):
        return len(runs.get((v, s), []))

    # 1. Accuracy.
    print("| variant | " + " | ".join(pct(s) for s in sparsities) + " |")
    print("|---|" + "---|" * len(sparsities))
    for v in variants:
        cells = []
        for s in sparsities:
            c = mean_std(acc.get((v, s), []))
            n = seeds_of(v, s)
            cells.append(c + (f" (n={n})" if n not in (0, 3) else ""))
        print(f"| {v} | " + " | ".join(cells) + " |")
    print("\nTest accuracy (%), mean ± standard deviation over seeds (n = 3 unless shown).")
    for s in sparsities:
        r = acc.get(("rigl", s))
        if not r:
            continue
        rm = statistics.mean(r)
        diffs = [f"{v} {statistics.mean(acc[(v, s)]) - rm:+.2f}" for v in variants
                 if v != "rigl" and acc.get((v, s))]
        print(f"\nAt {pct(s)}, difference of the means to rigl ({rm:.2f}): " + ", ".join(diffs) + ".")

    # 2. Structure of the final masks.
    for s in sparsities:
        print(f"\nFinal masks at {pct(s)} (range over seeds; fc3 is the output layer, never ablated):\n")
        print("| variant | ablated fc1 / fc2 | fan-in of active fc1 / fc2 | constant fan-in | "
              "active, feeding nothing: fc1 / fc2 | their share of the layer's kept weights fc1 / fc2 | "
              "hidden weights in neurons with no path to the output | hidden weights that reach the output (mean) |")
        print("|---|---|---|---|---|---|---|---|")
        for v in variants:
            rs = [d for d in runs.get((v, s), []) if "masks" in d]
            if not rs:
                continue
            by = lambda name, key: [next(l for l in d["masks"] if l["name"] == name)[key] for d in rs]
            fan = []
            const = True
            for name in ("fc1", "fc2"):
                lo, hi = by(name, "fan_in_min"), by(name, "fan_in_max")
                const &= all(a == b for a, b in zip(lo, hi))
                fan.append(span(lo + hi) if all(a == b for a, b in zip(lo, hi)) else f"{min(lo)}-{max(hi)}")
            shares = []
            for name in ("fc1", "fc2"):
                sh = [100.0 * u / k if k else 0.0 for u, k in zip(by(name, "unused_weights"), by(name, "kept"))]
                shares.append(f"{min(sh):.1f}-{max(sh):.1f}%" if min(sh) != max(sh) else f"{sh[0]:.1f}%")
            dead = []
            useful = []
            for d in rs:
                hidden = [l for l in d["masks"] if "dead_weights" in l]
                dead.append(100.0 * sum(l["dead_weights"] for l in hidden) / max(1, sum(l["kept"] for l in hidden)))
                useful.append(sum(l["kept"] - l["dead_weights"] for l in hidden))
            print(f"| {v} | {span(by('fc1', 'ablated'))} / {span(by('fc2', 'ablated'))} | {fan[0]} / {fan[1]} | "
                  f"{'yes' if const else 'no'} | {span(by('fc1', 'unused'))} / {span(by('fc2', 'unused'))} | "
                  f"{shares[0]} / {shares[1]} | {min(dead):.1f}-{max(dead):.1f}% | {statistics.mean(useful):.0f} |")

    # 3. SparseOpt against the same variant without it, seed by seed.
    pairs = [(v, v + "+sparse_opt") for v in variants if v + "+sparse_opt" in variants]
    if pairs:
        print("\nSparseOpt, seed by seed against the same variant without it "
              "(identical: same test accuracy and test loss to the last bit):\n")
        print("| pair | sparsity | seeds identical | mean difference (points) | fc1 ablated without / with |")
        print("|---|---|---|---|---|")
        for a, b in pairs:
            for s in sparsities:
                ra = {d["seed"]: d for d in runs.get((a, s), [])}
                rb = {d["seed"]: d for d in runs.get((b, s), [])}
                common = sorted(set(ra) & set(rb))
                if not common:
                    continue
                same = sum(ra[x]["result"]["test_accuracy"] == rb[x]["result"]["test_accuracy"] and
                           ra[x]["result"]["test_loss"] == rb[x]["result"]["test_loss"] for x in common)
                diff = statistics.mean(100.0 * (rb[x]["result"]["test_accuracy"] - ra[x]["result"]["test_accuracy"])
                                       for x in common)
                abl = lambda d: next((l["ablated"] for l in d.get("masks", []) if l["name"] == "fc1"), "?")
                print(f"| {b} vs {a} | {pct(s)} | {same} of {len(common)} | {diff:+.2f} | "
                      f"{span([abl(ra[x]) for x in common])} / {span([abl(rb[x]) for x in common])} |")

    # 4. More seeds.
    more = sorted(k for k, v in every.items() if len(v) > len(runs.get(k, [])))
    if more:
        print("\nAll seeds (the recipe's 1-3 and the extra ones):\n")
        print("| variant | sparsity | seeds | test accuracy (%) | min-max | above rigl's mean of the same seeds "
              "| beats rigl with the same seed |")
        print("|---|---|---|---|---|---|---|")
        for v in variants:
            for s in sparsities:
                if (v, s) not in more:
                    continue
                rs = sorted(every[(v, s)], key=lambda d: d["seed"])
                a = [100.0 * d["result"]["test_accuracy"] for d in rs]
                rig = {d["seed"]: 100.0 * d["result"]["test_accuracy"] for d in every.get(("rigl", s), [])}
                common = [d["seed"] for d in rs if d["seed"] in rig]
                cmp = "-"
                wins = "-"
                if v != "rigl" and common:
                    mine = {d["seed"]: 100.0 * d["result"]["test_accuracy"] for d in rs}
                    cmp = f"{statistics.mean(mine[x] for x in common) - statistics.mean(rig[x] for x in common):+.2f}"
                    wins = f"{sum(mine[x] > rig[x] for x in common)} of {len(common)}"
                print(f"| {v} | {pct(s)} | {span([d['seed'] for d in rs])} | {mean_std(a)} | "
                      f"{min(a):.2f}-{max(a):.2f} | {cmp} | {wins} |")

    write_svg(svg_path, variants, sparsities, acc)


def write_svg(path, variants, sparsities, acc):
    """One panel per sparsity (own y scale), variants side by side with mean ± std error bars; the
    dashed line is rigl's mean."""
    panel_w, h, top, bottom, left, gap, legend_w = 300, 380, 40, 40, 55, 50, 290
    w = left + len(sparsities) * panel_w + (len(sparsities) - 1) * gap + legend_w
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="16">LeNet-300-100 on MNIST, 10 epochs: test accuracy (%) vs sparsity, '
           f'mean ± std over seeds</text>']
    for p, s in enumerate(sparsities):
        x0 = left + p * (panel_w + gap)
        present = [v for v in variants if acc.get((v, s))]
        lows = [statistics.mean(acc[(v, s)]) - (statistics.stdev(acc[(v, s)]) if len(acc[(v, s)]) > 1 else 0)
                for v in present]
        highs = [statistics.mean(acc[(v, s)]) + (statistics.stdev(acc[(v, s)]) if len(acc[(v, s)]) > 1 else 0)
                 for v in present]
        if not present:
            continue
        lo, hi = min(lows), max(highs)
        pad = max(0.1, 0.08 * (hi - lo))
        lo, hi = lo - pad, hi + pad

        def y(v):
            return top + (hi - v) / (hi - lo) * (h - top - bottom)

        out.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{h - top - bottom}" fill="none" stroke="#ccc"/>')
        for i in range(6):
            v = lo + i * (hi - lo) / 5
            out.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 5}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
        out.append(f'<text x="{x0 + panel_w / 2}" y="{h - bottom + 20}" text-anchor="middle" font-weight="bold">'
                   f'sparsity {pct(s)}</text>')
        if acc.get(("rigl", s)):
            rv = statistics.mean(acc[("rigl", s)])
            out.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{y(rv):.1f}" y2="{y(rv):.1f}" stroke="#0072b2" '
                       f'stroke-dasharray="5,4"/>')
        step = panel_w / (len(variants) + 1)
        for j, v in enumerate(variants):
            vals = acc.get((v, s))
            if not vals:
                continue
            cx = x0 + step * (j + 1)
            m = statistics.mean(vals)
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            c = COLORS.get(v, "#000")
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(m - sd):.1f}" y2="{y(m + sd):.1f}" stroke="{c}" stroke-width="2"/>')
            for e in (m - sd, m + sd):
                out.append(f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y(e):.1f}" y2="{y(e):.1f}" stroke="{c}" stroke-width="2"/>')
            out.append(f'<circle cx="{cx:.1f}" cy="{y(m):.1f}" r="4" fill="{c}"><title>{v} {pct(s)}: {m:.2f} ± {sd:.2f}</title></circle>')
    lx = left + len(sparsities) * panel_w + (len(sparsities) - 1) * gap + 15
    for j, v in enumerate(variants):
        ly = top + 10 + 18 * j
        out.append(f'<circle cx="{lx + 6}" cy="{ly}" r="4" fill="{COLORS.get(v, "#000")}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly + 4}">{v}</text>')
    ly = top + 10 + 18 * len(variants)
    out.append(f'<line x1="{lx}" x2="{lx + 12}" y1="{ly}" y2="{ly}" stroke="#0072b2" stroke-dasharray="5,4"/>')
    out.append(f'<text x="{lx + 16}" y="{ly + 4}">rigl mean</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "enrich":
        enrich(args[1], "--keep" in args[2:])
    else:
        summarize(args[0] if args else "docs/data/study_99.jsonl", args[1] if len(args) > 1 else "docs/study_99.svg")
