#!/usr/bin/env python3
"""The benchmark chart: an SVG bar chart from benches/h2load.sh's TSV (and,
optionally, benches/memory.rs's TSV), with the Python 3 standard library only.

    python3 benches/chart.py target/bench/h2load-DATE.tsv
    python3 benches/chart.py H2LOAD.tsv --memory target/bench/memory.tsv -o BENCHMARKS-chart.svg

Panels, one bar group per workload, one colour per server, every bar
labelled with its value (the median rows of the TSV):
  1. requests per server CPU-second: small, c256 (higher is better);
  2. MB/s and MB per server CPU-second: dl1, dl16, echo, sink (higher is better);
  3. peak RSS during the c256 runs, MiB (lower is better);
  4. with --memory: KiB per idle connection and per open stream (lower is better).
A workload missing from the file is left out; a panel with nothing is too.
"""

import argparse
import csv
import math
import sys
from xml.sax.saxutils import escape

COLOURS = {
    "ours": "#e4572e",
    "before": "#f2a285",
    "h2": "#4c72b0",
    "nghttpd": "#55a868",
    "h2o": "#8172b2",
}
SPARE = ["#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
NAMES = {
    "ours": "h2actor",
    "before": "h2actor (before)",
    "h2": "h2 crate",
    "nghttpd": "nghttpd",
    "h2o": "h2o",
}
# Group labels ("\n": a second line).
WORKLOADS = {
    "small": "small\n-c 16 -m 32",
    "c256": "c256\n-c 256 -m 1",
    "dl1": "download\n1 conn",
    "dl16": "download\n16 conns",
    "echo": "upload\n/echo",
    "sink": "upload\n/sink",
}

WIDTH = 1000
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""


def read_tsv(path):
    """(comment lines, rows as dicts) of a TSV whose "#" lines come first."""
    comments, lines = [], []
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                lines.append(line)
    return comments, list(csv.DictReader(lines, delimiter="\t"))


def number(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def label(v):
    """A short value label: 1.23M, 429k, 2018, 19.9, 0.42."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def tick_label(t, step):
    """An axis label with no more digits than the step needs."""
    if t == 0:
        return "0"
    if t >= 1e6 and step >= 1e5:
        return f"{t / 1e6:g}M"
    if step >= 1e3:
        return f"{t / 1e3:g}k"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{t:.{decimals + (1 if step / 10 ** math.floor(math.log10(step)) == 2.5 else 0)}f}"


def nice_max(v):
    """A round axis maximum at or above v, and its tick step (4 to 6 ticks)."""
    if v <= 0:
        return 1.0, 0.2
    raw = v / 5
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw)
    return math.ceil(v / step - 1e-9) * step, step


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", weight="normal", fill="#222", rotate=None):
        transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{transform}>{escape(s)}</text>'
        )

    def rect(self, x, y, w, h, fill, stroke="none"):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" stroke="{stroke}"/>')

    def line(self, x1, y1, x2, y2, stroke="#ccc", width=1):
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"/>')


def panel(svg, top, x0, x1, title, unit, sections, servers, colour):
    """One panel at y=top between x0 and x1; sections: [(section title or
    None, [(group label, {server: value})])]. Returns the panel's height."""
    height = 320
    left, right = x0 + 60, x1 - 20
    plot_top, plot_bottom = top + 48, top + height - 62
    svg.text(left, top + 18, title, size=15, weight="bold")
    svg.text(left, top + 34, unit, size=11, fill="#666")
    values = [v for _, groups in sections for _, g in groups for v in g.values()]
    vmax, step = nice_max(max(values) * 1.12)
    scale = (plot_bottom - plot_top) / vmax
    # Grid and y axis.
    for i in range(round(vmax / step) + 1):
        t = i * step
        y = plot_bottom - t * scale
        svg.line(left, y, right, y, stroke="#e6e6e6" if i else "#888")
        svg.text(left - 6, y + 4, tick_label(t, step), size=10, anchor="end", fill="#555")
    # Groups: each as wide as its bars, with gaps between groups and sections.
    slots = sum(len(g) + 1.2 for _, groups in sections for _, g in groups) + 1.5 * (len(sections) - 1)
    bar = min((right - left - 10) / slots, 64)
    # Centred when the bars are narrower than the plot.
    x = left + 5 + bar * 0.6 + ((right - left - 10) - bar * slots) / 2
    for si, (stitle, groups) in enumerate(sections):
        sx0 = x
        for glabel, g in groups:
            gx0 = x
            for s in servers:
                if s not in g:
                    continue
                v = g[s]
                h = v * scale
                svg.rect(x + bar * 0.06, plot_bottom - h, bar * 0.88, h, colour(s))
                cx = x + bar / 2
                if bar >= 34:
                    svg.text(cx, plot_bottom - h - 4, label(v), size=10, anchor="middle", fill="#333")
                else:
                    svg.text(cx + 3.5, plot_bottom - h - 4, label(v), size=10, anchor="start", fill="#333", rotate=-90)
                x += bar
            for li, part in enumerate(glabel.split("\n")):
                svg.text((gx0 + x) / 2, plot_bottom + 15 + 13 * li, part, size=11, anchor="middle")
            x += bar * 1.2
        if stitle:
            mid = (sx0 + x - bar * 1.2) / 2
            svg.text(mid, plot_bottom + 46, stitle, size=12, anchor="middle", weight="bold", fill="#444")
        if si < len(sections) - 1:
            sep = x + bar * 0.15
            svg.line(sep, plot_top - 5, sep, plot_bottom + 50, stroke="#bbb")
            x += bar * 1.5
    return height


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("h2load_tsv", help="output of benches/h2load.sh (OUT=...)")
    ap.add_argument("--memory", help="output of benches/memory.rs (OUT=...)")
    ap.add_argument("-o", "--output", default="BENCHMARKS-chart.svg", help="the SVG to write (default %(default)s)")
    args = ap.parse_args()

    comments, rows = read_tsv(args.h2load_tsv)
    med = {}
    servers = []
    for r in rows:
        if r.get("kind") != "median":
            continue
        med[(r["workload"], r["server"])] = r
        if r["server"] not in servers:
            servers.append(r["server"])
    mem_rows = []
    mem_comments = []
    if args.memory:
        mem_comments, mem_rows = read_tsv(args.memory)
        for r in mem_rows:
            if r["server"] not in servers:
                servers.append(r["server"])
    if not med and not mem_rows:
        sys.exit(f"chart.py: no median rows in {args.h2load_tsv}")
    spare = iter(SPARE * 4)
    colours = {s: COLOURS.get(s) or next(spare) for s in servers}

    def groups(workloads, column, scale=1.0):
        out = []
        for w in workloads:
            g = {}
            for s in servers:
                v = number(med.get((w, s), {}).get(column))
                if v is not None and v > 0:
                    g[s] = v * scale
            if g:
                out.append((WORKLOADS.get(w, w), g))
        return out

    panels = []
    rate = groups(["small", "c256"], "req_per_cpu_s")
    if rate:
        panels.append(("Requests per server CPU-second (higher is better)",
                       "median of the rounds; CPU: utime+stime of all server threads during the h2load run",
                       [(None, rate)]))
    bulk = ["dl1", "dl16", "echo", "sink"]
    mb = [(t, g) for t, g in (("MB/s", groups(bulk, "mb_s")), ("MB per server CPU-second", groups(bulk, "mb_per_cpu_s"))) if g]
    if mb:
        panels.append(("Bulk transfer: MB/s and MB per server CPU-second (higher is better)",
                       "MB = 2^20 bytes of body; uploads run on the servers that can echo (h2actor, h2 crate)", mb))
    peak = groups(["c256"], "peak_rss_kib", 1 / 1024)
    if peak:
        panels.append(("Peak RSS at c256, MiB (lower is better)",
                       "VmHWM with 256 busy connections (reset before each run)", [(None, peak)]))
    if mem_rows:
        mem = []
        for col, name in (("kib_per_idle_conn", "per idle connection"), ("kib_per_open_stream", "per open stream")):
            g = {}
            for r in mem_rows:
                v = number(r.get(col))
                if v is not None:
                    g[r["server"]] = max(v, 0.0)
            if g:
                mem.append((name.replace(" ", "\n", 1), g))
        if mem:
            conns = mem_rows[0].get("conns", "?")
            panels.append(("Memory, KiB (lower is better)",
                           f"RSS growth / {conns} connections, then / their streams (memory.rs)",
                           [(None, mem)]))

    svg = Svg()
    y = 20
    svg.text(20, y + 16, "h2actor and its anchors, side by side in one run", size=18, weight="bold")
    info = [c for c in comments if c.startswith(("h2load.sh", "cpu:", "servers:"))]
    for i, c in enumerate(info[:3]):
        svg.text(20, y + 36 + 14 * i, c, size=10, fill="#666")
    y += 36 + 14 * len(info[:3])
    # Legend.
    lx = 20
    for s in servers:
        svg.rect(lx, y + 2, 14, 14, colours[s])
        name = NAMES.get(s, s)
        svg.text(lx + 20, y + 14, name, size=12)
        lx += 20 + 8 * len(name) + 24
    y += 30
    # Panels of one or two groups share a row, two by two.
    i = 0
    while i < len(panels):
        row = panels[i : i + 2] if len(panels[i][2]) == 1 and len(panels[i][2][0][1]) <= 2 else panels[i : i + 1]
        if len(row) == 2 and not (len(row[1][2]) == 1 and len(row[1][2][0][1]) <= 2):
            row = row[:1]
        w = WIDTH / len(row)
        heights = [panel(svg, y, 20 + k * w, (k + 1) * w, t, u, sec, servers, colours.get) for k, (t, u, sec) in enumerate(row)]
        y += max(heights) + 10
        i += len(row)
    height = y + 10
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" {FONT}>\n'
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/>\n'
    )
    with open(args.output, "w") as f:
        f.write(head + "\n".join(svg.parts) + "\n</svg>\n")
    print(f"chart.py: wrote {args.output} ({len(panels)} panels, servers: {' '.join(servers)})")


if __name__ == "__main__":
    main()
