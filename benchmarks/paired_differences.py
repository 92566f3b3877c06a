"""Paired per-seed differences KDGAN minus each method, from run folders named <method>_s<seed>.

  python benchmarks/paired_differences.py results/mnist_baselines/n100

Printed in README "Results"; same subset and pretrained players per seed, so the paired
spread is much smaller than the spread of either method alone."""
import json, statistics, sys, os
base = sys.argv[1]
def sel(m, s):
    p = f'{base}/{m}_s{s}/metrics.json'
    if not os.path.exists(p): return None
    r = json.load(open(p))
    return r['game']['selected']['test_accuracy'] if r.get('finished') else None
for m in ['supervised_c','mimic','distn','noisy','codis','nagan','kdgan_wo_gm']:
    d = [100*(sel('kdgan',s)-sel(m,s)) for s in range(3) if sel('kdgan',s) is not None and sel(m,s) is not None]
    if d: print(f"kdgan - {m}: per seed {[round(x,2) for x in d]}, mean {statistics.fmean(d):+.2f}" + (f" ± {statistics.stdev(d):.2f}" if len(d)>1 else ""))
