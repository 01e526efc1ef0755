#!/usr/bin/python3
"""Fits of the per-phase costs measured by scripts/bench-scale.sh.

usage: /usr/bin/python3 scripts/scale-fit.py [docs/bench-data/scale.txt]

Prints, as markdown tables (docs/SCALING.md quotes them):
  1. per layout and phase, at 4 ranks over 1k..100k tensors, least-squares
     fits  y = a + b*T  of rank 0's CPU time, the other ranks' largest CPU
     time (the work: wall time on a shared, oversubscribed machine mostly
     counts waiting),
     rank 0's MPI bytes in and out, the others' largest, and the memory
     high-water increase of rank 0 and of the others (medians of the
     repetitions first);
  2. per layout and phase, at 10k tensors over 1..8 ranks, the MPI bytes
     per rank and MPI calls, to show which grow with the number of ranks.
  3. the model at 1,000 and 10,000 ranks with 100,000 tensors (docs/SCALING.md,
     section 3): each phase's local work from the fitted per-tensor time, and
     its messages from the exact byte counts with a latency-bandwidth model
     of the collectives (ALPHA, BETA below).
Phases whose fitted values are all negligible are left out.
"""
import collections
import statistics
import sys

import numpy as np

COLS = ["r0_s", "other_s", "r0_calls", "r0_out", "r0_in", "other_calls",
        "other_out", "other_in", "r0_mem_kb", "other_mem_kb", "r0_cpu", "other_cpu"]


def load(path):
    runs = collections.defaultdict(list)  # (layout, phase, P, T) -> [rows]
    order = []
    for line in open(path):
        f = line.split()
        if not f or f[0] != "phase":
            continue
        name, p, t, layout = f[1], int(f[2]), int(f[3]), f[4]
        vals = dict(zip(COLS, map(float, f[6:18])))
        if len(f) < 18:  # files from before the CPU columns: wall time
            vals["r0_cpu"], vals["other_cpu"] = vals["r0_s"], vals["other_s"]
        runs[(layout, name, p, t)].append(vals)
        if name not in order:
            order.append(name)
    med = {k: {c: statistics.median(r[c] for r in v) for c in COLS}
           for k, v in runs.items()}
    return med, order


def fit(xs, ys):
    """Least squares y = a + b x; returns a, b, r2."""
    x, y = np.array(xs, float), np.array(ys, float)
    if len(x) < 2:
        return float(y[0]), 0.0, 1.0
    b, a = np.polyfit(x, y, 1)
    res = y - (a + b * x)
    tot = ((y - y.mean()) ** 2).sum()
    return a, b, 1.0 - (res ** 2).sum() / tot if tot > 0 else 1.0


def table_tensors(med, order, np_=4):
    print(f"### Against the number of tensors T, at {np_} ranks: y = a + b*T\n")
    print("| layout | phase | rank 0 CPU: us/tensor (a ms) | others CPU: us/tensor | "
          "rank 0 MPI in / out B/tensor | others in / out B/tensor | "
          "rank 0 mem B/tensor | others mem B/tensor | T points |")
    print("|---|---|---|---|---|---|---|---|---|")
    for layout in sorted({k[0] for k in med}):
        for name in order:
            pts = sorted(k[3] for k in med if k[0] == layout and k[1] == name and k[2] == np_)
            if len(pts) < 2:
                continue
            col = {c: [med[(layout, name, np_, t)][c] for t in pts] for c in COLS}
            f = {c: fit(pts, col[c]) for c in COLS}
            if max(abs(f["r0_cpu"][1]), abs(f["other_cpu"][1])) * 1e6 < 0.5 and \
               max(abs(f[c][1]) for c in ("r0_in", "r0_out", "other_in", "other_out")) < 1 and \
               max(abs(f[c][1]) * 1024 for c in ("r0_mem_kb", "other_mem_kb")) < 20:
                continue
            print(f"| {layout} | {name} | {f['r0_cpu'][1] * 1e6:.2f} ({f['r0_cpu'][0] * 1e3:.0f}) "
                  f"| {f['other_cpu'][1] * 1e6:.2f} "
                  f"| {f['r0_in'][1]:.1f} / {f['r0_out'][1]:.1f} "
                  f"| {f['other_in'][1]:.1f} / {f['other_out'][1]:.1f} "
                  f"| {f['r0_mem_kb'][1] * 1024:.0f} | {f['other_mem_kb'][1] * 1024:.0f} "
                  f"| {','.join(str(t // 1000) + 'k' for t in pts)} |")
    print()


def table_ranks(med, order, nt=10000):
    print(f"### Against the number of ranks P, at {nt} tensors: MPI bytes per rank "
          "(rank 0 in+out / largest other in+out), calls of rank 0\n")
    for layout in sorted({k[0] for k in med}):
        ps = sorted({k[2] for k in med if k[0] == layout and k[3] == nt})
        if len(ps) < 2:
            continue
        print(f"**{layout}**\n")
        print("| phase | " + " | ".join(f"P={p}" for p in ps) + " |")
        print("|---|" + "---|" * len(ps))
        for name in order:
            cells, grow = [], 0
            for p in ps:
                v = med.get((layout, name, p, nt))
                if not v:
                    cells.append("")
                    continue
                r0 = v["r0_in"] + v["r0_out"]
                ot = v["other_in"] + v["other_out"]
                grow = max(grow, r0, ot)
                cells.append(f"{r0:.0f} / {ot:.0f} ({v['r0_calls']:.0f})")
            if grow >= 1000:
                print(f"| {name} | " + " | ".join(cells) + " |")
        print()


def table_times(med, order, nt=10000):
    print(f"### Time of rank 0 / largest other (ms), at {nt} tensors\n")
    for layout in sorted({k[0] for k in med}):
        ps = sorted({k[2] for k in med if k[0] == layout and k[3] == nt})
        if len(ps) < 2:
            continue
        print(f"**{layout}**\n")
        print("| phase | " + " | ".join(f"P={p}" for p in ps) + " |")
        print("|---|" + "---|" * len(ps))
        for name in order:
            vals = [med.get((layout, name, p, nt)) for p in ps]
            if max((v["r0_s"] if v else 0) for v in vals) < 0.02:
                continue
            print(f"| {name} | " + " | ".join(
                f"{v['r0_s'] * 1e3:.0f} / {v['other_s'] * 1e3:.0f}" if v else "" for v in vals) + " |")
        print()


# Network assumptions of the model (InfiniBand HDR100-class, MPI over it):
ALPHA = 2e-6      # seconds per message (latency + software)
BETA = 12.5e9     # bytes per second per rank link
L_ROW = 56        # bytes per checksum row, 2-d tensors
L_BOX = 48        # bytes per explicit box record sent to a home (2 + 4 words)
L_OLD_BOX = 40    # bytes per box every rank received before (measured: 40*P*T)


def ft(t):
    """Seconds, readably."""
    return f"{t:.1f} s" if t >= 1 else f"{t * 1e3:.0f} ms" if t >= 1e-3 else f"{t * 1e6:.0f} us"


def fb(b):
    """Bytes, readably."""
    return f"{b / 1e9:.1f} GB" if b >= 1e9 else f"{b / 2**20:.1f} MiB" if b >= 2**20 else f"{b / 1024:.0f} KiB"


def lg(p):
    return max(1.0, float(np.ceil(np.log2(p))))


def coef(med, layout, name, col, np_=4):
    pts = sorted(k[3] for k in med if k[0] == layout and k[1] == name and k[2] == np_)
    if len(pts) < 2:
        return 0.0
    return max(0.0, fit(pts, [med[(layout, name, np_, t)][col] for t in pts])[1])


def model(med, T=100000):
    """Rank 0 and other ranks, seconds and memory, after and before the fixes."""
    c = lambda layout, name, col="r0_cpu": coef(med, layout, name, col)
    idx_b = c("shard", "r.index", "r0_out")            # index bytes per tensor
    print(f"### Model: T = {T:,} tensors, alpha = {ALPHA * 1e6:.0f} us, "
          f"beta = {BETA / 1e9:.1f} GB/s\n")
    print("Local work per tensor (fits at 4 ranks, us): " + ", ".join(
        f"{n} ({l}) {c(l, n, col) * 1e6:.1f}" for l, n, col in [
            ("shard", "w.objects", "r0_cpu"), ("shard", "r.index", "r0_cpu"),
            ("shard", "w.put", "other_cpu"), ("shard", "r.get", "other_cpu"),
            ("shard", "w.plan", "other_cpu"), ("range", "w.plan", "other_cpu"),
            ("shard", "r.sum_check", "other_cpu")]) +
          f"; index broadcast {idx_b:.0f} B/tensor.\n")
    print("| P | pieces N | phase | rank 0 now | others now | before this branch |")
    print("|---|---|---|---|---|---|")
    for P in (1000, 10000):
        N = P * T  # FSDP-like: every tensor sharded over every rank
        rows = []
        t_q = (c("shard", "w.put", "other_cpu") + c("shard", "w.sum_record", "other_cpu")) * T
        rows.append(("save: T puts + checksum rows (every rank, local)", ft(t_q), ft(t_q), "same"))
        t_obj = c("shard", "w.objects") * T
        rows.append(("save: create objects (rank 0 serial)", ft(t_obj), "wait " + ft(t_obj), "same"))
        t_off = lg(P) * ALPHA + 2 * 8 * T / BETA
        rows.append(("save: offsets broadcast (8 B/tensor)", ft(t_off), ft(t_off), "same"))
        t_agr = 3 * 2 * lg(P) * ALPHA + c("shard", "w.plan", "other_cpu") * T
        t_agr_old = t_agr + lg(P) * ALPHA + 2 * 8 * T / BETA
        rows.append(("save: plan (hash and agree on the items; every rank, local)", ft(t_agr), ft(t_agr),
                     ft(t_agr_old) + " (+ 8 B/tensor broadcast)"))
        t_exp = 4 * (P - 1) * ALPHA + (L_BOX + 16) * T / BETA + c("range", "w.plan", "other_cpu") * T
        old_b = P * T * L_OLD_BOX
        rows.append(("save: owners of explicit ranges", ft(t_exp) + ", " + fb((L_BOX + 16) * T),
                     ft(t_exp) + ", " + fb((L_BOX + 16) * T),
                     fb(old_b) + " on every rank (" + ft(old_b / BETA) + ")"))
        t_sum = 6 * 2 * lg(P) * ALPHA
        old_g = (N - T) * L_ROW
        rows.append(("save: checksum rows", ft(t_sum) + " + own rows", ft(t_sum) + " + own rows",
                     "rank 0 receives " + fb(old_g) + " (" + ft(old_g / BETA) + ")"))
        t_g = (c("shard", "r.get", "other_cpu") + c("shard", "r.plan", "other_cpu")) * T
        rows.append(("load: T gets + plan (every rank, local)", ft(t_g), ft(t_g), "same"))
        t_idx = c("shard", "r.index") * T
        t_ib = lg(P) * ALPHA + 2 * idx_b * T / BETA
        rows.append(("load: index walk (rank 0) + broadcast", ft(t_idx) + " + " + ft(t_ib),
                     "wait; " + fb(idx_b * T), "same"))
        per = N / P * L_ROW + T * 64 + T * L_ROW
        t_chk = 6 * (P - 1) * ALPHA + per / BETA + c("shard", "r.sum_check", "other_cpu") * T
        rows.append(("load: verifying reader's rows", ft(t_chk) + ", " + fb(per),
                     ft(t_chk) + ", " + fb(per), fb(N * L_ROW) + " on every rank"))
        rows.append(("load: replica keys (GPU builds)", fb(16 * T), fb(16 * T),
                     fb(8 * P * T) + f" on every rank, {T * P * P / 2:.0e} compares"))
        agrees = 30 * 2 * lg(P) * ALPHA
        rows.append(("save: ~30 agreements", ft(agrees), ft(agrees), "same"))
        # Memory high-water per rank: phases nest (w.flush holds w.plan,
        # w.exec, w.objects...; r.open holds r.index), so a save peaks at
        # its queue (w.put) plus its flush, a load at open + queue + flush.
        m = lambda n, col: coef(med, "shard", n, col)
        ms0 = (m("w.put", "r0_mem_kb") + m("w.flush", "r0_mem_kb")) * 1024 * T
        ms1 = (m("w.put", "other_mem_kb") + m("w.flush", "other_mem_kb")) * 1024 * T
        ml0 = (m("r.open", "r0_mem_kb") + m("r.get", "r0_mem_kb") + m("r.flush", "r0_mem_kb")) * 1024 * T
        ml1 = (m("r.open", "other_mem_kb") + m("r.get", "other_mem_kb") +
               m("r.flush", "other_mem_kb")) * 1024 * T
        rows.append(("memory high-water, save (queue + flush)", fb(ms0), fb(ms1),
                     f"+ {fb(old_g)} on rank 0 (rows), + {fb(old_b)} per rank (explicit boxes)"))
        rows.append(("memory high-water, verifying load (index + queue + flush)", fb(ml0), fb(ml1),
                     f"+ {fb(N * L_ROW)} per rank (the whole table)"))
        for i, (ph, a, b, o) in enumerate(rows):
            print(f"| {P:,} | {N:.0e} | {ph} | {a} | {b} | {o} |" if i == 0 else
                  f"| | | {ph} | {a} | {b} | {o} |")
    print()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/bench-data/scale.txt"
    med, order = load(path)
    for line in open(path):
        if line.startswith("#"):
            print(line.rstrip()[2:] + "  ")
    print()
    table_tensors(med, order)
    table_ranks(med, order)
    table_times(med, order)
    model(med)


if __name__ == "__main__":
    main()
