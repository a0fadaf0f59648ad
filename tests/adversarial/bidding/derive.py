# Independent derivations (mpmath, 60 digits) of bidding equilibria for the adversarial
# catalogue: competitive p̄ solves Σ clamp((p − a_i)/(2h_i), 0, cap_i) = d (Theorem 1 KKT);
# Nash p* solves Σ clamp(q_i(p), 0, min(cap_i, d/2)) = d with q_i(p) the smaller root of
# 2h q² − (2hd − a + 2p) q + (p − a) d = 0, i.e. p = (d−q)/(d−2q)·(a + 2hq) (Theorem 3, eq. 18).
from mpmath import mp, mpf, sqrt
mp.dps = 60
def comp(a, h, d, cap=None):
    a=[mpf(x) for x in a]; h=[mpf(x) for x in h]; d=mpf(d)
    cap=[mpf(c) if c is not None else None for c in (cap or [None]*len(a))]
    def q(p):
        out=[]
        for ai,hi,ci in zip(a,h,cap):
            v=max(mpf(0),(p-ai)/(2*hi))
            if ci is not None: v=min(v,ci)
            out.append(v)
        return out
    lo=min(a); hi=max(a)+1
    while sum(q(hi))<d: hi=2*hi
    for _ in range(400):
        m=(lo+hi)/2
        if sum(q(m))<d: lo=m
        else: hi=m
    p=(lo+hi)/2
    return p,q(p)
def nash(a, h, d, cap=None):
    a=[mpf(x) for x in a]; h=[mpf(x) for x in h]; d=mpf(d)
    cap=[mpf(c) if c is not None else None for c in (cap or [None]*len(a))]
    def q(p):
        out=[]
        for ai,hi,ci in zip(a,h,cap):
            if p<=ai: v=mpf(0)
            else:
                b=2*hi*d-ai+2*p
                v=(b-sqrt(b*b-8*hi*(p-ai)*d))/(4*hi)
            u=d/2 if ci is None else min(ci,d/2)
            out.append(min(v,u))
        return out
    lo=min(a); hi=max(a)+1
    while sum(q(hi))<d: hi=2*hi
    for _ in range(400):
        m=(lo+hi)/2
        if sum(q(m))<d: lo=m
        else: hi=m
    p=(lo+hi)/2
    return p,q(p)
def f(x): return mp.nstr(x, 17, min_fixed=-3, max_fixed=3)
