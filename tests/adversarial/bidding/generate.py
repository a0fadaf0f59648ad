# Writes the bidding cases of the adversarial catalogue (run from this folder: python3 generate.py).
from derive import *
import os, json
D=os.path.dirname(os.path.abspath(__file__))
def toml_customers(a,h,cap=None, half=None):
    s=""
    for i in range(len(a)):
        s+="\n[[customers]]\n"
        if half: s+=f"cost = {{ half_quadratic = {half[i]!r} }}\n"
        else: s+=f"cost = {{ linear = {a[i]!r}, quadratic = {h[i]!r} }}\n"
        if cap and cap[i] is not None: s+=f"capacity = {cap[i]!r}\n"
    return s
def write(name, header, body):
    with open(os.path.join(D,name),'w') as fh:
        fh.write("".join(f"# {l}\n" for l in header)+body)
DER="mpmath at 60 digits (tests/adversarial/bidding/derive.py logic: bisection on p of the KKT sum Σ q_i(p) = d; Nash q_i(p) = smaller root of 2h q² − (2hd − a + 2p) q + (p − a) d = 0, eq. 18)"
def eq_case(name, title, a, h, d, cap=None, extra=None, which=("competitive","nash"), loads=(0,), tol="1e-9", dstr=None, surplus=False, note_extra=""):
    hdr=[f"case: {title}","args: solve --json","exit: 0"]
    vals=[]
    for w in which:
        p,q=(comp if w=="competitive" else nash)(a,h,d,cap)
        hdr.append(f"json: /{w}/price ~ {f(p)} rel {tol}")
        for i in loads:
            if q[i]>0: hdr.append(f"json: /{w}/loads/{i} ~ {f(q[i])} rel {tol}")
        hdr.append(f'json: /{w}/certificate/status = "Solved"')
    hdr+= (extra or [])
    hdr.append(f"note: expected values derived independently with {DER}.{note_extra}")
    amt = dstr or repr(d)
    body='model = "bidding"\n'+(f"surplus = {amt}\n" if surplus else f"deficit = {amt}\n")+toml_customers(a,h,cap)
    write(name,hdr,body)
A3,H3=[1,1.5,2],[1,2,0.5]
# --- the finding: Nash at tiny / huge deficits
eq_case("nash_deficit_1e-12.toml","issue finding 1: Nash equilibrium with a deficit of 1e-12 must be exact to 1e-9 (was 3.7 % off, 'Solved')",A3,H3,1e-12,loads=(0,1,2),dstr="1e-12")
eq_case("nash_deficit_1e-8.toml","Nash and competitive equilibria with d = 1e-8 (where the absolute tolerance started to bite)",A3,H3,1e-8,loads=(0,1,2),dstr="1e-8")
eq_case("nash_deficit_1e-4.toml","Nash and competitive equilibria with d = 1e-4",A3,H3,1e-4,loads=(0,1,2),dstr="1e-4")
eq_case("nash_deficit_1e6.toml","Nash and competitive equilibria with d = 1e6",A3,H3,1e6,loads=(0,1,2),dstr="1e6")
eq_case("nash_deficit_1e12.toml","Nash and competitive equilibria with d = 1e12",A3,H3,1e12,loads=(0,1,2),dstr="1e12")
# competitive tiny: only the cheapest customer active, p̄ = 1 + 2·1·d
eq_case("competitive_tiny_deficit_single_active.toml","d = 1e-12: only the cheapest customer sheds; its load must be d to 1e-9 although p̄ − a_1 = 2e-12 is below ε·p̄",A3,H3,1e-12,which=("competitive",),loads=(0,),dstr="1e-12",note_extra=" Closed form: p̄ = a_1 + 2 h_1 d = 1 + 2e-12, q̄_1 = d.")
# homogeneous closed forms
for n,a,h,d,ds in [(3,1.0,2.0,1e-12,"1e-12"),(5,1.0,2.0,1e12,"1e12"),(4,0.5,0.25,1e-6,"1e-6"),(10,2.0,3.0,1e9,"1e9")]:
    pb=mpf(a)+2*mpf(h)*mpf(d)/n; ps=pb*(n-1)/(n-2)
    hdr=[f"case: homogeneous market, n = {n}, d = {ds}: Corollary 4 closed forms","args: solve --json","exit: 0",
         f"json: /competitive/price ~ {f(pb)} rel 1e-9", f"json: /nash/price ~ {f(ps)} rel 1e-9",
         f"json: /competitive/loads/0 ~ {f(mpf(d)/n)} rel 1e-9", f"json: /nash/loads/{n-1} ~ {f(mpf(d)/n)} rel 1e-9",
         'json: /nash/certificate/status = "Solved"',
         f"note: by hand: q̄ = q* = d/n, p̄ = a + 2h d/n = {f(pb)}, p* = (n−1)/(n−2)·p̄ (li-chen-dahleh-2015 Theorem 5, homogeneous case) with a = {a}, h = {h}."]
    write(f"homogeneous_n{n}_d{ds}.toml",hdr,f'model = "bidding"\ndeficit = {ds}\n'+toml_customers([a]*n,[h]*n))
# price scale: costs ×1e-12 and ×1e12 (prices scale by t, loads unchanged)
for t,ts in [(1e-12,"1e-12"),(1e12,"1e12")]:
    a=[x*t for x in A3]; h=[x*t for x in H3]
    eq_case(f"costs_scaled_{ts}.toml",f"every cost coefficient × {ts}: prices scale by {ts}, loads do not change",a,h,3.0,loads=(0,1,2),note_extra=f" Invariance check: the prices equal {ts} × those of the unscaled market.")
# quantity scale with capacities
cap=[0.4,0.45,0.5]
for s_,ss in [(1e-12,"1e-12"),(1e12,"1e12")]:
    a=A3; h=[x/s_ for x in H3]; c=[x*s_ for x in cap]
    eq_case(f"capacities_scaled_{ss}.toml",f"capacitated market with d, capacities × {ss} and h × 1/{ss}: prices unchanged, loads × {ss}",a,h,1.0*s_,cap=c,loads=(0,1,2),dstr=ss,note_extra=" Capacities 0.4, 0.45, 0.5 × s; some bind.")
# pure quadratic Theorem 6
for d,ds in [(1e-12,"1e-12"),(1e12,"1e12")]:
    c=[1.0,2.0,4.0]
    hdr=[f"case: pure quadratic costs ½ c_i q², d = {ds}: Theorem 6 bids are independent of d","args: solve --json","exit: 0",
         f"json: /competitive/bids/0 ~ 1 rel 1e-9", f"json: /competitive/bids/2 ~ 0.25 rel 1e-9",
         f"json: /competitive/price ~ {f(mpf(d)/mpf(1.75))} rel 1e-9",
         'json: /competitive/certificate/status = "Solved"','json: /nash/certificate/status = "Solved"',
         "note: by hand (li-chen-dahleh-2015 Theorem 6): b̄_i = 1/c_i = 1, 0.5, 0.25, Σ b̄ = 1.75, p̄ = d / Σ b̄."]
    write(f"theorem6_pure_quadratic_d{ds}.toml",hdr,f'model = "bidding"\ndeficit = {ds}\n'+toml_customers(None and 0 or c,c,half=c))
# surplus tiny
eq_case("surplus_1e-12.toml","a surplus of 1e-12 (explicit `surplus`): same equilibria as the deficit",A3,H3,1e-12,surplus=True,dstr="1e-12",loads=(0,1),extra=['json: /direction = "surplus"'])
# two customers: competitive well defined, Nash undefined
a2,h2=[1.0,1.5],[1.0,2.0]
p,q=comp(a2,h2,2.0)
write("two_customers_solve.toml",["case: two customers: no Nash equilibrium (Corollary 2), the competitive one is still solved","args: solve --json","exit: 0",
 f"json: /competitive/price ~ {f(p)} rel 1e-9",'json: /nash/kind = "no_nash_equilibrium"',"stdout-contains: Corollary 2",
 f"note: by hand: both active, p̄ = (d + Σ a_i/(2h_i))/Σ 1/(2h_i) = (2 + 0.5 + 0.375)/(0.5 + 0.25) = 23/6; {DER}."],
 'model = "bidding"\ndeficit = 2.0\n'+toml_customers(a2,h2))
write("two_customers_simulate.toml",["case: issue finding 9: a two-customer `dr simulate` runs the competitive scheme and reports Nash as undefined (no abort)","args: simulate --json","exit: 0",
 "json: /runs/1/undefined = true","stdout-contains: Corollary 2",f"json: /runs/0/equilibrium_price ~ {f(p)} rel 1e-9",
 "note: p̄ = 23/6 by hand (see two_customers_solve.toml)."],'model = "bidding"\ndeficit = 2.0\n'+toml_customers(a2,h2))
write("two_customers_simulate_nash_only.toml",["case: `--equilibrium nash` on two customers asks for what Corollary 2 says does not exist: bad input naming customers","args: simulate --json --equilibrium nash","exit: 1",
 "error-contains: customers","error-contains: Corollary 2"],'model = "bidding"\ndeficit = 2.0\n'+toml_customers(a2,h2))
# Nash capacity Lemma 3
write("nash_capacity_lemma3.toml",["case: issue finding 9: capacities cover d but not within min(capacity, d/2): the Nash error cites Lemma 3","args: solve --json","exit: 0",
 'json: /nash/kind = "no_nash_equilibrium"',"stdout-contains: Lemma 3","stdout-contains: min(capacity_i, d/2)",'json: /nash/field = "customers[].capacity"',
 f"json: /competitive/price ~ {f(comp([1,1,1],[1,1,1],10,[10,0.1,0.1])[0])} rel 1e-9",
 "note: Σ min(cap, d/2) = 5 + 0.1 + 0.1 = 5.2 < d = 10 although Σ cap = 10.2 ≥ d; competitive price by mpmath bisection (customer 1 sheds 9.8: p̄ = 1 + 2·9.8 = 20.6)."],
 'model = "bidding"\ndeficit = 10.0\n'+toml_customers([1,1,1],[1,1,1],[10,0.1,0.1]))
# bad input
bad=[
 ("deficit_negative.toml","issue finding 8: a negative deficit is not silently a surplus","deficit = -5.0\n",["deficit","-5","surplus = 5"]),
 ("deficit_zero.toml","a zero deficit","deficit = 0.0\n",["deficit","0"]),
 ("deficit_nan.toml","a NaN deficit","deficit = nan\n",["deficit","NaN"]),
 ("deficit_inf.toml","an infinite deficit","deficit = inf\n",["deficit","inf"]),
 ("surplus_negative.toml","a negative surplus","surplus = -1.0\n",["surplus","-1"]),
 ("deficit_and_surplus.toml","both deficit and surplus","deficit = 1.0\nsurplus = 1.0\n",["deficit","surplus"]),
 ("deficit_missing.toml","neither deficit nor surplus","",["deficit"]),
]
for name,title,line,errs in bad:
    write(name,[f"case: {title}","exit: 1"]+[f"error-contains: {e}" for e in errs],'model = "bidding"\n'+line+toml_customers(A3,H3))
cust_bad=[
 ("quadratic_negative.toml","a negative quadratic coefficient",[(1,"cost = { linear = 1.5, quadratic = -2.0 }\n")],["customers[1].cost.quadratic","-2"]),
 ("linear_negative.toml","a negative linear coefficient",[(0,"cost = { linear = -0.5, quadratic = 1.0 }\n")],["customers[0].cost.linear","-0.5"]),
 ("capacity_negative.toml","a negative capacity",[(2,"cost = { linear = 2.0, quadratic = 0.5 }\ncapacity = -1.0\n")],["customers[2].capacity","-1"]),
 ("cost_two_forms.toml","a cost given both as quadratic and half_quadratic",[(0,"cost = { quadratic = 1.0, half_quadratic = 2.0 }\n")],["customers[0].cost"]),
 ("half_quadratic_zero.toml","a zero curvature",[(2,"cost = { half_quadratic = 0.0 }\n")],["customers[2].cost.half_quadratic","0"]),
]
for name,title,repl,errs in cust_bad:
    body='model = "bidding"\ndeficit = 1.0\n'
    for i in range(3):
        r=dict(repl).get(i)
        body+="\n[[customers]]\n"+(r if r else f"cost = {{ linear = {A3[i]!r}, quadratic = {H3[i]!r} }}\n")
    write(name,[f"case: {title}","exit: 1"]+[f"error-contains: {e}" for e in errs],body)
write("capacity_below_deficit.toml",["case: capacities that cannot cover the deficit at all","exit: 1","error-contains: capacity","error-contains: 10"],
 'model = "bidding"\ndeficit = 10.0\n'+toml_customers(A3,H3,[1,1,1]))
write("customers_empty.toml",["case: no customers at all","exit: 1","error-contains: customers"],'model = "bidding"\ndeficit = 1.0\n')
write("unknown_key.toml",["case: a misspelt key in a customer","exit: 1","error-contains: capacty"],'model = "bidding"\ndeficit = 1.0\n[[customers]]\ncost = { linear = 1.0, quadratic = 1.0 }\ncapacty = 3.0\n')
pop='model = "bidding"\ndeficit = 10.0\n\n[population]\n'
write("population_range_three_values.toml",["case: issue finding 8: a population range with three values is rejected naming the field (not truncated)","exit: 1","error-contains: population.linear","error-contains: [1.0, 2.0, 3.0]","error-contains: two numbers"],pop+"count = 100\nlinear = [1.0, 2.0, 3.0]\nquadratic = [0.5, 4.5]\n")
write("population_range_one_value.toml",["case: a population range with one value","exit: 1","error-contains: population.quadratic","error-contains: two numbers"],pop+"count = 100\nlinear = [1.0, 2.0]\nquadratic = [0.5]\n")
write("population_range_inverted.toml",["case: a population range whose upper end is below its lower end","exit: 1","error-contains: population.linear[1]","error-contains: 0.5"],pop+"count = 100\nlinear = [1.0, 0.5]\nquadratic = [0.5, 4.5]\n")
write("population_quadratic_zero.toml",["case: a population curvature range starting at 0 (h must be > 0)","exit: 1","error-contains: population.quadratic[0]"],pop+"count = 100\nlinear = [1.0, 2.0]\nquadratic = [0.0, 4.5]\n")
write("population_count_zero.toml",["case: an empty drawn population","exit: 1","error-contains: population.count"],pop+"count = 0\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\n")
write("population_1e8_memory_limit.toml",["case: issue finding 7: 10^8 customers under a 6 GiB limit are refused with the estimate and the limit (no abort)","args: solve --json --memory-limit 6GiB","exit: 1","error-contains: memory","error-contains: 6.00 GiB","error-contains: GiB"],pop+"count = 100000000\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\n")
write("population_1e9_simulate_memory_limit.toml",["case: 10^9 customers for simulate under a 1 GiB limit","args: simulate --json --memory-limit 1GiB","exit: 1","error-contains: memory","error-contains: 1.00 GiB"],pop+"count = 1000000000\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\n")
write("population_1e12.toml",["case: a population of 10^12 customers is refused before anything is allocated","args: solve --json --memory-limit 64GiB","exit: 1","error-contains: memory","error-contains: 64.00 GiB"],pop+"count = 1000000000000\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\n")
three_json={"model":"bidding","deficit":1.0,"population":{"count":10,"linear":[1.0,2.0],"quadratic":[0.5,1.0,4.5]}}
with open(os.path.join(D,"population_range_three_values.json"),'w') as fh: json.dump(three_json,fh)
with open(os.path.join(D,"population_range_three_values.json.expect"),'w') as fh:
    fh.write("# case: the JSON form of a three-value range names the field and value (not 'trailing characters')\n# exit: 1\n# error-contains: population.quadratic\n# error-contains: two numbers\n")
sim='model = "bidding"\ndeficit = 10.0\n'
write("simulate_two_rounds.toml",["case: a simulation stopped by --rounds 2 has not converged: exit 4, never 0","args: simulate --json --rounds 2 --equilibrium competitive","exit: 4","json: /converged = false",'json: /termination = "max_rounds"'],sim+toml_customers(A3,H3))
write("simulate_oscillating_step.toml",["case: the paper rule with γ far above the critical step oscillates (chen-li-low-doyle-2010 §V): exit 4","args: simulate --json --step 50 --rounds 400 --equilibrium competitive","exit: 4","json: /converged = false"],sim+toml_customers(A3,H3))
write("simulation_tolerance_negative.toml",["case: issue finding 9: a bad [simulation] tolerance is named as the file writes it","args: simulate --json","exit: 1","error-contains: simulation.tolerance","error-contains: -1"],sim+"\n[simulation]\ntolerance = -1.0\n"+toml_customers(A3,H3))
write("simulation_step_zero.toml",["case: a zero step of the paper rule","args: simulate --json","exit: 1","error-contains: simulation.step","error-contains: 0"],sim+"\n[simulation]\nstep = 0.0\n"+toml_customers(A3,H3))
write("simulate_tiny_deficit_price_resolution.toml",["case: d = 1e-12 with a_1 = 1: p̄ − a_1 = 2e-12 is below the resolution of a price message (ε·p ≈ 2e-16 moves q by 1e-4·d), so no price rule can reach a 1e-9 mismatch; the run must say so (exit 4), never claim convergence","args: simulate --json --rule fast --equilibrium competitive","exit: 4","json: /converged = false"],'model = "bidding"\ndeficit = 1e-12\n'+toml_customers(A3,H3))
c=[1.0,2.0,4.0]
write("simulate_tiny_deficit_pure_quadratic_fast.toml",["case: d = 1e-12 with pure quadratic costs: prices scale with d, the fast rule converges to p̄ = d/Σ(1/c_i)","args: simulate --json --rule fast --equilibrium competitive --start-price 1e-12","exit: 0","json: /converged = true",f"json: /equilibrium_price ~ {f(mpf(1e-12)/mpf(1.75))} rel 1e-9",f"json: /price ~ {f(mpf(1e-12)/mpf(1.75))} rel 1e-6","note: by hand (Theorem 6): b̄_i = 1/c_i, Σ b̄ = 1.75, p̄ = d/1.75; the run stops at a relative mismatch of 1e-9, so its last price is within about 1e-9 of p̄ (asserted to 1e-6)."],'model = "bidding"\ndeficit = 1e-12\n'+toml_customers(c,c,half=c))
p,_=nash(A3,H3,1e-12)
write("simulate_nash_tiny_deficit_fast.toml",["case: strategic customers at d = 1e-12: the fast rule reaches the Nash price (the loads differ at order d, so the price message resolves them)","args: simulate --json --rule fast --equilibrium nash","exit: 0","json: /converged = true",f"json: /equilibrium_price ~ {f(p)} rel 1e-9",f"json: /price ~ {f(p)} rel 1e-6",f"note: p* by {DER}; the run stops at a relative mismatch of 1e-9, so its price is asserted to 1e-6."],'model = "bidding"\ndeficit = 1e-12\n'+toml_customers(A3,H3))
write("simulate_paper_step_tiny_deficit.toml",["case: the paper's fixed step γ = 0.1 (price per unit of mismatch) at d = 1e-12 moves the price by ~1e-13 a round: it cannot converge in 300 rounds and must say so (exit 4)","args: simulate --json --rule paper --equilibrium nash --rounds 300","exit: 4","json: /converged = false",'json: /termination = "max_rounds"'],'model = "bidding"\ndeficit = 1e-12\n'+toml_customers(A3,H3))
