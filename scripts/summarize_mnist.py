#!/usr/bin/env python3
"""Turns docs/data/mnist_runs.jsonl (scripts/mnist_experiments.sh) into the markdown table of
docs/results.md and an SVG plot of test accuracy against sparsity per method."""
import json
import statistics
import sys
from collections import defaultdict

runs_path = sys.argv[1] if len(sys.argv) > 1 else "docs/data/mnist_runs.jsonl"
svg_path = sys.argv[2] if len(sys.argv) > 2 else "docs/mnist_accuracy.svg"

acc = defaultdict(list)
for line in open(runs_path):
    d = json.loads(line)
    r = d["result"]
    method = d["method"]
    if method == "srigl" and d["gamma_sal"] == 0:
        method = "srigl (no ablation)"
    acc[(method, d["sparsity"])].append(100.0 * r["test_accuracy"])

methods = ["static", "set", "rigl", "srigl (no ablation)", "srigl"]
sparsities = sorted({s for (m, s) in acc if m != "dense"})
dense = acc.get(("dense", 0), [])

def cell(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"

print("| method | " + " | ".join(f"{int(round(s * 100))}%" for s in sparsities) + " |")
print("|---|" + "---|" * len(sparsities))
print("| dense | " + " | ".join(cell(dense) for _ in sparsities) + " |")
for m in methods:
    print(f"| {m} | " + " | ".join(cell(acc.get((m, s), [])) for s in sparsities) + " |")
seeds = max((len(v) for v in acc.values()), default=0)
print(f"\nMean ± standard deviation of test accuracy (%) over {seeds} seeds.")

# SVG: accuracy vs sparsity, one polyline per method, dense as a dashed line.
w, h, left, right, top, bottom = 640, 400, 60, 170, 20, 50
all_vals = [statistics.mean(v) for v in acc.values() if v]
lo, hi = min(all_vals) - 0.5, max(all_vals) + 0.3
xs = {s: left + i * (w - left - right) / max(1, len(sparsities) - 1) for i, s in enumerate(sparsities)}
def y(v):
    return top + (hi - v) / (hi - lo) * (h - top - bottom)
colors = {"static": "#888888", "set": "#e69f00", "rigl": "#0072b2", "srigl (no ablation)": "#cc79a7", "srigl": "#d55e00"}
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
       f'<rect width="{w}" height="{h}" fill="white"/>',
       f'<text x="{left}" y="14">LeNet-300-100 on MNIST: test accuracy (%) vs sparsity</text>']
for i in range(6):
    v = lo + i * (hi - lo) / 5
    out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
    out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
for s, x in xs.items():
    out.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">{int(round(s * 100))}%</text>')
if dense:
    dv = statistics.mean(dense)
    out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(dv):.1f}" y2="{y(dv):.1f}" stroke="black" stroke-dasharray="5,4"/>')
    out.append(f'<text x="{w - right + 8}" y="{y(dv) + 4:.1f}">dense</text>')
for j, m in enumerate(methods):
    pts = [(xs[s], y(statistics.mean(acc[(m, s)]))) for s in sparsities if acc.get((m, s))]
    if not pts:
        continue
    out.append(f'<polyline fill="none" stroke="{colors[m]}" stroke-width="2" points="' +
               " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + '"/>')
    for px, py in pts:
        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colors[m]}"/>')
    ly = top + 30 + 18 * j
    out.append(f'<line x1="{w - right + 8}" x2="{w - right + 28}" y1="{ly}" y2="{ly}" stroke="{colors[m]}" stroke-width="2"/>')
    out.append(f'<text x="{w - right + 32}" y="{ly + 4}">{m}</text>')
out.append(f'<text x="{(left + w - right) / 2}" y="{h - 10}" text-anchor="middle">sparsity</text>')
out.append("</svg>")
open(svg_path, "w").write("\n".join(out))
