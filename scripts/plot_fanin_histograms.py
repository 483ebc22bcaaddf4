#!/usr/bin/env python3
"""Per-neuron fan-in at 99% sparsity (scripts/fanin_histograms.sh, docs/results.md).

  plot_fanin_histograms.py extract LABEL METHOD GAMMA EXTRA SEED EPOCHS SUMMARY.json CHECKPOINT
      Reads the run's final masks (through scripts/summarize_study_99.py's read_checkpoint and
      mask_stats) and prints one JSON line: variant, method, settings, test accuracy (from the
      run's summary JSON), and per sparse layer the fan-in of every output neuron (kept inputs;
      0 = ablated). Needs torch.

  plot_fanin_histograms.py [RUNS.jsonl [SVG]]
      Draws a grid of histograms: one row per variant, columns fc1 and fc2 (the hidden layers),
      x = fan-in, y = number of neurons, ablated neurons (fan-in 0) in red. Standard library only.
      Defaults: docs/data/fanin_99.jsonl, docs/fanin_99.svg.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize_study_99 as study  # noqa: E402  (read_checkpoint, mask_stats, COLORS)


def extract(label, method, gamma, extra, seed, epochs, summary_path, ckpt):
    import torch

    summary = json.loads(open(summary_path).read())
    state = study.read_checkpoint(ckpt)
    stats = {l["name"]: l for l in study.mask_stats(ckpt)}
    layers = []
    for name, st in stats.items():
        w = state["model." + name + ".weight"]
        m = state.get("model." + name + ".mask")
        m = torch.ones_like(w, dtype=torch.bool) if m is None else m.to(torch.bool)
        fan = [int(x) for x in m.reshape(m.shape[0], -1).sum(1).tolist()]
        active = [f for f in fan if f > 0]
        # The histogram must agree with the study's reading of the same masks.
        assert len(fan) == st["neurons"] and len(active) == st["active"], name
        assert (min(active) if active else 0) == st["fan_in_min"] and (max(active) if active else 0) == st["fan_in_max"], name
        layers.append({"name": name, "inputs": int(m.reshape(m.shape[0], -1).shape[1]), "neurons": len(fan),
                       "active": st["active"], "ablated": st["ablated"], "kept": st["kept"], "fan_in": fan})
    d = {"variant": label, "method": method, "sparsity": 0.99, "gamma_sal": float(gamma), "extra": extra,
         "seed": int(seed), "epochs": int(epochs), "test_accuracy": summary["test_accuracy"], "layers": layers}
    print(json.dumps(d, separators=(",", ":")))


def esc(t):
    return str(t).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plot(runs_path, svg_path):
    """One row per variant, columns fc1 and fc2. The x range is shared per column (0 to the largest
    fan-in of that layer over the runs where it is not dense, so rows compare; a dense layer's panel
    gets its own, marked); each panel has its own y scale. Bars of width 1
    fan-in each when the range is small, else binned; the ablated neurons (fan-in 0) are a red bar."""
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    cols = ["fc1", "fc2"]
    panel_w, panel_h, left, top, gap_x, gap_y, bottom = 380, 130, 60, 50, 70, 62, 30
    w = left + len(cols) * panel_w + (len(cols) - 1) * gap_x + 20
    h = top + len(runs) * (panel_h + gap_y) - gap_y + bottom + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="16">LeNet-300-100 on MNIST, 99% sparsity, seed {runs[0]["seed"] if runs else "-"}, '
           f'{runs[0]["epochs"] if runs else "-"} epochs: final fan-in per neuron (kept inputs) of the hidden layers</text>',
           f'<text x="{left}" y="33" fill="#555">x: fan-in; y: neurons; red bar at 0: ablated neurons '
           f'(no kept input); grey: active neurons</text>']
    # Shared x range per layer, so rows compare: up to the largest fan-in of the layer over the runs whose
    # layer is not fully dense. A panel with a larger fan-in (a dense layer) gets its own x range.
    def lay(r, c):
        return next(l for l in r["layers"] if l["name"] == c)
    xmax = {c: max([max(lay(r, c)["fan_in"]) for r in runs if max(lay(r, c)["fan_in"]) < lay(r, c)["inputs"]] + [1])
            for c in cols}
    for i, r in enumerate(runs):
        color = study.COLORS.get(r["variant"], "#555555")
        for j, c in enumerate(cols):
            layer = next(l for l in r["layers"] if l["name"] == c)
            fan = layer["fan_in"]
            active = [f for f in fan if f > 0]
            x0 = left + j * (panel_w + gap_x)
            y0 = top + i * (panel_h + gap_y) + 18
            own = max(fan) > xmax[c]
            hi = max(fan) if own else xmax[c]
            # Bins: width 1 up to 120 values, else wider so that there are at most ~120 bars.
            bw = max(1, -(-hi // 120))
            nb = hi // bw + 1  # bin 0 holds fan-in 1..bw (the ablated neurons get their own bar)
            counts = [0] * nb
            for f in active:
                counts[(f - 1) // bw] += 1
            ablated = len(fan) - len(active)
            ymax = max(counts + [ablated, 1])
            plot_w = panel_w - 16  # room for the ablated bar at the left
            def bx(v):  # x of fan-in value v (v >= 1)
                return x0 + 16 + (v - 1) / max(1, hi) * plot_w
            def by(n):
                return y0 + panel_h - n / ymax * panel_h
            rng = f"{min(active)}" if active and min(active) == max(active) else (
                f"{min(active)}-{max(active)}" if active else "-")
            out.append(f'<text x="{x0}" y="{y0 - 6}" font-weight="bold" fill="{color}">{esc(r["variant"])} '
                       f'<tspan fill="#000" font-weight="normal">{100 * r["test_accuracy"]:.2f}% · {c}: '
                       f'{len(active)} active, {ablated} ablated, fan-in {rng}{" (own x scale)" if own else ""}</tspan></text>')
            out.append(f'<rect x="{x0}" y="{y0}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#ccc"/>')
            for k in range(1, 4):
                v = ymax * k / 4
                out.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{by(v):.1f}" y2="{by(v):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 4}" y="{y0 + 4}" text-anchor="end">{ymax}</text>')
            out.append(f'<text x="{x0 - 4}" y="{y0 + panel_h + 4}" text-anchor="end">0</text>')
            if ablated:
                out.append(f'<rect x="{x0 + 2}" y="{by(ablated):.1f}" width="10" height="{panel_h - (by(ablated) - y0):.1f}" '
                           f'fill="#d62728"><title>{c}: {ablated} ablated (fan-in 0)</title></rect>')
            for b, n in enumerate(counts):
                if not n:
                    continue
                lo_v, hi_v = b * bw + 1, (b + 1) * bw
                xa, xb = bx(lo_v - 0.5), bx(hi_v + 0.5)
                wid = max(1.5, xb - xa - (0.5 if xb - xa > 3 else 0))
                label = f"{lo_v}" if bw == 1 else f"{lo_v}-{hi_v}"
                out.append(f'<rect x="{xa:.1f}" y="{by(n):.1f}" width="{wid:.1f}" height="{panel_h - (by(n) - y0):.1f}" '
                           f'fill="#777"><title>{c}: {n} neurons with fan-in {label}</title></rect>')
            # x axis ticks: 0 (ablated), 1, and a few round values up to hi.
            out.append(f'<text x="{x0 + 7}" y="{y0 + panel_h + 14}" text-anchor="middle" fill="#d62728">0</text>')
            step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if hi / s <= 8)
            ticks = [1] + list(range(step, hi + 1, step))
            for t in ticks:
                out.append(f'<text x="{bx(t):.1f}" y="{y0 + panel_h + 14}" text-anchor="middle">{t}</text>')
    out.append(f'<text x="{left + panel_w / 2}" y="{h - 8}" text-anchor="middle">fc1 (784 inputs): fan-in</text>')
    out.append(f'<text x="{left + panel_w + gap_x + panel_w / 2}" y="{h - 8}" text-anchor="middle">'
               f'fc2 (300 inputs): fan-in</text>')
    out.append("</svg>")
    open(svg_path, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "extract":
        extract(*args[1:9])
    else:
        plot(args[0] if args else "docs/data/fanin_99.jsonl", args[1] if len(args) > 1 else "docs/fanin_99.svg")
