"""Medians of scripts/bench_python.sh's JSON lines as a markdown table.
    python3 summarize.py results.jsonl"""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    py = defaultdict(list)    # (preset, ranks, variant, phase) -> [record]
    cb = defaultdict(list)    # (preset, ranks, phase) -> [seconds]
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("variant") == "cbench":
                cb[(r["preset"], r["ranks"], r["phase"])].append(r["seconds"])
            else:
                py[(r["preset"], r["ranks"], r["variant"], r["phase"])].append(r)
    med = statistics.median
    mib = 1 << 20
    print("| state | ranks | phase | `h5ckpt bench` s | h5ckpt.torch s | binding ratio "
          "| seed s | seed / h5ckpt.torch | extra RSS h5ckpt.torch / seed, max rank (MiB) "
          "| shard per rank (MiB) | runs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (preset, ranks, variant, phase) in sorted(py):
        if variant != "h5ckpt":
            continue
        h = py[(preset, ranks, "h5ckpt", phase)]
        s = py.get((preset, ranks, "seed", phase), [])
        c = cb.get((preset, ranks, phase), [])
        hs = med(r["seconds"] for r in h)
        ss = med(r["seconds"] for r in s) if s else float("nan")
        cs = med(c) if c else float("nan")
        hx = med(r["extra_rss_max_bytes"] for r in h) / mib
        sx = med(r["extra_rss_max_bytes"] for r in s) / mib if s else float("nan")
        print("| %s | %d | %s | %.3f | %.3f | %.2f | %.3f | %.1fx | %.0f / %.0f | %.0f | %d |" % (
            preset, ranks, phase, cs, hs, cs / hs, ss, ss / hs, hx, sx,
            h[0]["shard_max_bytes"] / mib, len(h)))


if __name__ == "__main__":
    main(sys.argv[1])
