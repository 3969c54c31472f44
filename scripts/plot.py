# Draws line plots for engram from a JSON spec read on stdin (engram embeds this file and runs it
# as `/usr/bin/python3 -c <script>`, where Debian's matplotlib lives).
# Spec: {"out": "x.png", "title": str, "xlabel": str, "ylabel": str, "logx": bool, "logy": bool,
#        "series": [{"label": str, "x": [..], "y": [..], "lower": [..]?, "upper": [..]?, "style": "-"}]}
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

spec = json.load(sys.stdin)
ymax = spec.get("ymax")
fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
diverged = []  # (x, colour) of each series' first point past ymax
for s in spec["series"]:
    y = [float("nan") if v is None else v for v in s["y"]]  # NaN arrives as null
    if ymax is not None:
        bad = [i for i, v in enumerate(y) if not (v == v and abs(v) != float("inf") and v <= ymax)]
        y = [float("nan") if i in bad else v for i, v in enumerate(y)]
    line, = ax.plot(s["x"], y, s.get("style", "-"), label=s.get("label"), linewidth=1.4)
    if ymax is not None and bad:
        diverged.append((s["x"][bad[0]], line.get_color()))
    if "lower" in s and "upper" in s:
        ax.fill_between(s["x"], s["lower"], s["upper"], color=line.get_color(), alpha=0.2)
ax.set_title(spec.get("title", ""))
ax.set_xlabel(spec.get("xlabel", ""))
ax.set_ylabel(spec.get("ylabel", ""))
if spec.get("logx"):
    ax.set_xscale("log")
if spec.get("logy"):
    ax.set_yscale("log")
if ymax is not None:
    ax.set_ylim(top=ymax)
    for i, (x, colour) in enumerate(diverged):
        ax.plot([x], [ymax], "x", color=colour, markersize=9, clip_on=False,
                label="diverged (beyond the axis)" if i == 0 else None)
ax.grid(alpha=0.3)
if any(s.get("label") for s in spec["series"]):
    ax.legend(fontsize=8 if len(spec["series"]) > 6 else None)
fig.tight_layout()
# engram removes "<out>.tmp-<pid>" files of dead processes, so a killed plotter leaves nothing behind.
tmp = spec["out"] + ".tmp-" + str(os.getpid())
fig.savefig(tmp, format="png")
os.replace(tmp, spec["out"])
