#!/usr/bin/env python3
"""A/B wall time of two or more `dr` builds, interleaved: `python3 benches/ab.py N OUT BIN1 BIN2 ... -- ARGS`.
Each run writes stdout to OUT (a fresh file created before the clock starts, like `cargo xtask bench`); prints the median, min and quartiles per binary."""
import sys, subprocess, time, os, statistics
n = int(sys.argv[1]); out = sys.argv[2]
rest = sys.argv[3:]; k = rest.index('--'); bins = rest[:k]; args = rest[k+1:]
res = {b: [] for b in bins}
for i in range(n):
    for b in bins:
        try:
            if os.path.isfile(out) and not out.startswith("/dev/"): os.remove(out)
        except FileNotFoundError: pass
        with open(out, 'wb') as f:
            t = time.perf_counter()
            r = subprocess.run([b] + args, stdout=f, stderr=subprocess.DEVNULL)
            res[b].append(time.perf_counter() - t)
        assert r.returncode == 0, (b, r.returncode)
for b in bins:
    xs = sorted(res[b])
    print(f"{b:20s} median {statistics.median(xs)*1e3:7.1f} ms  min {xs[0]*1e3:7.1f}  q1 {xs[len(xs)//4]*1e3:7.1f} q3 {xs[3*len(xs)//4]*1e3:7.1f}")
