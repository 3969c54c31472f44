# Draws line plots for engram from a JSON spec (engram embeds this file and runs it with
# /usr/bin/python3, where Debian's matplotlib lives).
# Spec: {"out": "x.png", "title": str, "xlabel": str, "ylabel": str, "logx": bool, "logy": bool,
#        "series": [{"label": str, "x": [..], "y": [..], "lower": [..]?, "upper": [..]?, "style": "-"}]}
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

spec = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
for s in spec["series"]:
    line, = ax.plot(s["x"], s["y"], s.get("style", "-"), label=s.get("label"), linewidth=1.4)
    if "lower" in s and "upper" in s:
        ax.fill_between(s["x"], s["lower"], s["upper"], color=line.get_color(), alpha=0.2)
ax.set_title(spec.get("title", ""))
ax.set_xlabel(spec.get("xlabel", ""))
ax.set_ylabel(spec.get("ylabel", ""))
if spec.get("logx"):
    ax.set_xscale("log")
if spec.get("logy"):
    ax.set_yscale("log")
ax.grid(alpha=0.3)
if any(s.get("label") for s in spec["series"]):
    ax.legend()
fig.tight_layout()
tmp = spec["out"] + ".tmp.png"
fig.savefig(tmp)
import os

os.replace(tmp, spec["out"])
