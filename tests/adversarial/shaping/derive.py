# Writes the shaping cases of the adversarial catalogue, with their expected answers
# derived here by hand (closed forms, python3 fractions). Run from this folder:
#   python3 derive.py
from fractions import Fraction as F
import math, os
cases = {}
def case(name, header, body):
    cases[name] = header.rstrip('\n') + '\n' + body.lstrip('\n')

HEAD = 'model = "shaping"\n'
def q1(T, theta, kappa, c, e, extra=""):
    return HEAD + f"""periods = {T}
[supply]
curvature = {c}
linear = {e}
[[customers]]
utility = "quadratic"
theta = {theta}
kappa = {kappa}
{extra}"""

def g(x): return repr(float(x))

# ---- bad input (exit 1) ----
bad = [
 ("bad_curvature_string", "supply.curvature a string: the message says what is expected, not 'untagged enum'",
  q1(2,"[3.0, 2.0]","1.0",'"steep"',"0.0"), ["supply.curvature", "expected a number or an array of T numbers"]),
 ("bad_kappa_element_string", "a profile element of the wrong type names the field and the element",
  q1(2,'[3.0, 2.0]','[1.0, "x"]',"1.0","0.0"), ["customers[0].kappa", "element [1]"]),
 ("bad_theta_table", "a per-period value given as a table",
  q1(2,'{ a = 1.0 }','1.0',"1.0","0.0"), ["customers[0].theta", "a number or an array of T numbers"]),
 ("bad_fractional_count", "a fractional class count is rejected (counts are whole customers, not a mass)",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = 2.5\n"), ["customers[0].count", "2.5", "whole number"]),
 ("bad_negative_count", "a negative class count",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = -3\n"), ["customers[0].count", "-3"]),
 ("bad_zero_count", "a class of zero customers",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = 0\n"), ["customers[0].count", "must be >= 1"]),
 ("bad_zero_periods", "periods = 0",
  q1(0,"1.0","1.0","1.0","0.0"), ["periods", "must be >= 1"]),
 ("bad_negative_kappa", "a non-concave utility (kappa < 0) names customer, field and period",
  q1(2,"[3.0, 2.0]","[1.0, -1.0]","1.0","0.0"), ["customers[0].kappa[1]", "-1"]),
 ("bad_nan_theta", "NaN in a profile",
  q1(2,"[nan, 2.0]","1.0","1.0","0.0"), ["customers[0].theta[0]", "NaN"]),
 ("bad_inverted_energy", "minimum daily energy above the maximum",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","min_energy = 5.0\nmax_energy = 2.0\n"), ["customers[0].max_energy", "5", "2"]),
 ("bad_profile_length", "a profile of 3 values for T = 2",
  q1(2,"[3.0, 2.0, 1.0]","1.0","1.0","0.0"), ["customers[0].theta", "length 3", "expected 2"]),
 ("bad_log_field_on_quadratic", "a log-utility field on a quadratic customer",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","weight = 1.0\n"), ["customers[0].weight", "log"]),
 ("bad_zero_curvature", "a supply cost that is not strictly convex (c = 0)",
  q1(2,"[3.0, 2.0]","1.0","[1.0, 0.0]","0.0"), ["supply.curvature[1]", "must be > 0"]),
 ("bad_negative_linear", "a negative linear supply coefficient",
  q1(2,"[3.0, 2.0]","1.0","1.0","[0.0, -0.5]"), ["supply.linear[1]", "-0.5"]),
 ("bad_jitter_one", "jitter must be below 1",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = 3\njitter = 1.0\n"), ["customers[0].jitter", "must be < 1"]),
 ("bad_unknown_key", "a misspelt key is rejected naming it",
  q1(2,"[3.0, 2.0]","1.0","1.0","0.0","thetta = 1.0\n"), ["thetta"]),
 ("bad_negative_shift", "a log customer with a negative shift",
  HEAD + 'periods = 2\n[supply]\ncurvature = 1.0\n[[customers]]\nutility = "log"\nweight = 1.0\nshift = [1.0, -2.0]\n', ["customers[0].shift[1]", "-2"]),
]
for name, what, body, errs in bad:
    h = f"# case: {what}\n# exit: 1\n" + "".join(f"# error-contains: {e}\n" for e in errs)
    case(name, h, body)

# simulation.tolerance named as in the file
case("bad_simulation_tolerance",
 "# case: a bad [simulation] value is named as in the file (simulation.tolerance), with its value\n# args: simulate --json\n# exit: 1\n# error-contains: simulation.tolerance\n# error-contains: -1\n",
 q1(2,"[3.0, 2.0]","1.0","1.0","0.0","[simulation]\ntolerance = -1.0\n"))

# ---- oversized (exit 1 before allocating) ----
big = [
 ("huge_periods", "periods = 1e9 in a ten-line file: refused before allocating (finding 7)", q1(1000000000,"1.0","1.0","1.0","0.0")),
 ("huge_class_count", "a jittered class of 10^12 customers (integer count; they differ, so each would be stored): refused before allocating", q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = 1000000000000\njitter = 0.1\n")),
 ("huge_class_count_float", "a jittered class of 1e12 customers written as a float: a whole number, refused by size", q1(2,"[3.0, 2.0]","1.0","1.0","0.0","count = 1e12\njitter = 0.1\n")),
 ("large_population_over_limit", "10^8 jittered customers over T = 24 under a 1 GiB limit (>= 10^8·24·8 bytes for the loads alone)", q1(24,"1.0","1.0","1.0","0.0","count = 100000000\njitter = 0.1\n")),
]
for name, what, body in big:
    case(name, f"# case: {what}\n# args: solve --json --memory-limit 1GiB\n# exit: 1\n# error-contains: needs about\n# error-contains: 1.00 GiB\n", body)

# ---- closed forms at scale (exit 0) ----
# one customer, quadratic, T=2, theta=[3,2] r, kappa = r/s, c = r*0.5/s, e = r*0.25
def one_customer(name, s, r, minE=None, strategic_check=True):
    th=[F(3),F(2)]; k=F(1); c=F(1,2); e=F(1,4)
    if minE is None:
        q=[(t-e)/(k+c) for t in th]
    else:
        mu=(F(minE)*(k+c)-sum(t-e for t in th))/2
        q=[(t-e+mu)/(k+c) for t in th]
    p=[c*x+e for x in q]
    qs=[(t-e)/(k+2*c) for t in th]; ps=[c*x+e for x in qs]
    extra = f"min_energy = {g(s*F(minE))}\n" if minE is not None else ""
    body = q1(2, f"[{g(r*3)}, {g(r*2)}]", g(r/s), g(r*0.5/s), g(r*0.25), extra)
    h = f"""# case: one quadratic customer, T = 2, quantities x {s:g}, money x {r:g}{', minimum energy binding' if minE else ''}: answer exact at any scale
# args: solve --json --set cross_check=false
# exit: 0
# json: /certificate/status = "Solved"
# json: /strategic/certificate/status = "Solved"
# json: /prices/0 ~ {g(r*p[0])} rel 1e-9
# json: /prices/1 ~ {g(r*p[1])} rel 1e-9
# json: /loads/0/0 ~ {g(s*q[0])} rel 1e-9
# json: /loads/0/1 ~ {g(s*q[1])} rel 1e-9
"""
    if minE is None and strategic_check:
        h += f"# json: /strategic/prices/0 ~ {g(r*ps[0])} rel 1e-9\n# json: /strategic/loads/0/1 ~ {g(s*qs[1])} rel 1e-9\n"
    h += f"""# note: U = θ_t q − ½ κ q², C = ½ c Q² + e Q with θ = r·[3, 2], κ = r/s, c = r/(2s), e = r/4 (quantities × s, money × r).
# note: competitive (eq. 30 and 35): θ_t − κ q_t + μ = c q_t + e, i.e. q_t = (θ_t − e + μ)/(κ + c); unbounded: μ = 0 → q = s·[11/6, 7/6], p = c q + e = r·[7/6, 5/6].
# note: minimum energy Q binding: μ = (Q(κ + c) − Σ(θ_t − e))/2 (fractions in python3, scaled by s and r).
# note: strategic (eq. 43): θ_t − κ q − (c q + e) − c q = 0 → q = (θ_t − e)/(κ + 2c) = s·[11/8, 7/8], p = r·[15/16, 11/16].
"""
    case(name, h, body)

one_customer("scale_quantities_1e-12", 1e-12, 1.0)
one_customer("scale_quantities_1e12", 1e12, 1.0)
one_customer("scale_money_1e-12", 1.0, 1e-12)
one_customer("scale_money_1e12", 1.0, 1e12)
one_customer("scale_both_tiny", 1e-12, 1e-12)
one_customer("scale_min_energy_tiny", 1e-12, 1.0, minE=6)
one_customer("scale_min_energy_huge", 1e12, 1e-6, minE=6)

# two identical customers, T = 3: CE q = (θ−e)/(κ+2c), NE q = (θ−e)/(κ+3c)
def two_identical(name, s):
    th=[F(4),F(3),F(2)]; k=F(1); c=F(1); e=F(0)
    qc=[(t-e)/(k+2*c) for t in th]; pc=[c*2*x+e for x in qc]
    qn=[(t-e)/(k+3*c) for t in th]; pn=[c*2*x+e for x in qn]
    body = HEAD + f"""periods = 3
[supply]
curvature = {g(1/s)}
[[customers]]
count = 2
utility = "quadratic"
theta = [4.0, 3.0, 2.0]
kappa = {g(1/s)}
"""
    h=f"""# case: two identical quadratic customers, T = 3, quantities x {s:g}: competitive and Nash closed forms
# args: solve --json --set cross_check=false
# exit: 0
# json: /prices/0 ~ {g(pc[0])} rel 1e-9
# json: /prices/2 ~ {g(pc[2])} rel 1e-9
# json: /loads/rows/0/1 ~ {g(s*qc[1])} rel 1e-9
# json: /strategic/prices/0 ~ {g(pn[0])} rel 1e-9
# json: /strategic/loads/rows/0/2 ~ {g(s*qn[2])} rel 1e-9
# json: /strategic/nash_check_holds = true
# note: the two identical customers are one row of loads standing for both (customers_per_row = [2]).
# note: θ = [4, 3, 2], κ = c = 1/s, e = 0, two customers. Competitive: θ_t − κ q = c·2q → q = θ_t/(κ + 2c) = s·θ_t/3, p = 2cq = 2θ_t/3.
# note: Nash (eq. 43/44): θ_t − κ q − c·2q − c q = 0 → q = θ_t/(κ + 3c) = s·θ_t/4, p = 2cq = θ_t/2.
"""
    case(name, h, body)
two_identical("two_customers_tiny", 1e-12)
two_identical("two_customers_huge", 1e12)

# log customer T = 1: w/(σ+q) = c q + e → c q² + (cσ + e) q + (eσ − w) = 0
def log_one(name, s, r, w0=2.0, sig0=1.0, c0=1.0, e0=0.0):
    w=r*s*w0; sig=s*sig0; c=r*c0/s; e=r*e0
    # solve in base units then scale
    a=c0; b=c0*sig0+e0; cc=e0*sig0-w0
    q0=(-b+math.sqrt(b*b-4*a*cc))/(2*a)
    p0=c0*q0+e0
    body = HEAD + f"""periods = 1
[supply]
curvature = {g(c)}
linear = {g(e)}
[[customers]]
utility = "log"
weight = {g(w)}
shift = {g(sig)}
"""
    h=f"""# case: one log customer, T = 1, quantities x {s:g}, money x {r:g}: the competitive quadratic root
# args: solve --json --set cross_check=false
# exit: 0
# json: /certificate/status = "Solved"
# json: /prices/0 ~ {g(r*p0)} rel 1e-9
# json: /loads/0/0 ~ {g(s*q0)} rel 1e-9
# note: U = w ln(σ + q), C = ½ c Q² + e Q; base w = {w0}, σ = {sig0}, c = {c0}, e = {e0}; scaled w·r·s, σ·s, c·r/s, e·r.
# note: eq. 30/35: w/(σ + q) = c q + e ⇔ c q² + (cσ + e) q + (eσ − w) = 0; base root q = (−b + √(b² − 4ac))/(2a) = {q0!r} (python3), p = c q + e.
"""
    case(name, h, body)
log_one("log_tiny_quantities", 1e-12, 1.0)
log_one("log_huge_money", 1.0, 1e12, e0=0.5)
log_one("log_small_shift", 1.0, 1.0, sig0=1e-9)

# fixed energy min = max
th=[F(3),F(1)]; k=F(2); c=F(1); e=F(1,2); E=F(10)
mu=(E*(k+c)-sum(t-e for t in th))/2
q=[(t-e+mu)/(k+c) for t in th]; p=[c*x+e for x in q]
case("fixed_daily_energy", f"""# case: a fixed daily energy (min = max = 10, e.g. an electric vehicle): loads split by the closed form
# args: solve --json --set cross_check=false
# exit: 0
# json: /prices/0 ~ {g(p[0])} rel 1e-12
# json: /prices/1 ~ {g(p[1])} rel 1e-12
# json: /loads/0/0 ~ {g(q[0])} rel 1e-12
# json: /min_energy_multipliers/0 ~ {g(mu)} rel 1e-9
# note: θ = [3, 1], κ = 2, c = 1, e = 1/2: q_t = (θ_t − e + μ)/(κ + c) with Σ q = 10 → μ = (10·3 − (5/2 + 1/2))/2 = 27/2 = λ − λ̄ > 0, so λ = 27/2.
""", q1(2,"[3.0, 1.0]","2.0","1.0","0.5","min_energy = 10.0\nmax_energy = 10.0\n"))

# zero max energy: S = {0}
case("zero_max_energy", """# case: a customer with max_energy = 0 draws nothing; the other one sets the price by its closed form
# args: solve --json --set cross_check=false
# exit: 0
# json: /certificate/status = "Solved"
# json: /loads/0/0 = 0.0
# json: /loads/0/1 = 0.0
# json: /prices/0 ~ 1.5 rel 1e-12
# json: /loads/1/1 ~ 1.0 rel 1e-12
# note: customer 0 has S = {0}. Customer 1: θ = [3, 2], κ = 1, c = 1, e = 0: θ_t − q = q → q = θ_t/2 = [1.5, 1], p = [1.5, 1].
""", HEAD + """periods = 2
[supply]
curvature = 1.0
[[customers]]
utility = "log"
weight = 1.0
shift = 1.0
max_energy = 0.0
[[customers]]
utility = "quadratic"
theta = [3.0, 2.0]
kappa = 1.0
""")

# ---- finding 5 ----
mu=(F(10**9)*2-5)/2; q=[(3+mu)/2,(2+mu)/2]
case("second_path_fails_not_confirmed", f"""# case: the IPM second path limited to 1 iteration fails: "not confirmed" (exit 5), never "disagree", no null (finding 5)
# args: solve --json --set ipm_max_iterations=1
# exit: 5
# stdout-contains: not confirmed
# stdout-contains: second path: 
# json: /cross_check/verdict = "not confirmed"
# json: /strategic/cross_check/verdict = "not confirmed"
# json: /certificate/status = "Solved"
# json: /outcome = "inconclusive"
# json: /prices/0 ~ {g(q[0])} rel 1e-12
# note: huge minimum energy Q = 1e9 binding, θ = [3, 2], κ = c = 1, e = 0: μ = (2Q − 5)/2, q_t = (θ_t + μ)/2, p_t = q_t (python3 fractions).
""", q1(2,"[3.0, 2.0]","1.0","1.0","0.0","min_energy = 1e9\n"))
case("second_path_agrees", """# case: both paths solve a small market and agree (exit 0); the verdict is written
# args: solve --json
# exit: 0
# json: /cross_check/verdict = "agrees"
# json: /cross_check/agree = true
# json: /strategic/cross_check/verdict = "agrees"
# json: /prices/0 ~ 2.0 rel 1e-12
# json: /prices/1 ~ 1.5 rel 1e-12
# note: one customer θ = [4, 3], κ = c = 1, e = 0: θ_t − q = q → q = θ/2 = [2, 1.5], p = c q = [2, 1.5].
""", q1(2,"[4.0, 3.0]","1.0","1.0","0.0"))

case("log_tiny_shift_flat_quadratic", """# case: log customers with shift 1e-9 beside a quadratic one with kappa = 1e-9 (load known only to ulp(p)/kappa from the prices): certified after exact market clearing, and the IPM agrees
# args: solve --json
# exit: 0
# json: /certificate/status = "Solved"
# json: /strategic/certificate/status = "Solved"
# json: /cross_check/verdict = "agrees"
# json: /strategic/cross_check/verdict = "agrees"
""", HEAD + """periods = 4
[supply]
curvature = [1.0, 2.0, 0.5, 1.0]
linear = 0.1
[[customers]]
count = 5
jitter = 0.3
utility = "log"
weight = [1.0, 2.0, 1.5, 0.5]
shift = 1e-9
min_energy = 2.0
[[customers]]
utility = "quadratic"
theta = [3.0, 2.0, 1.0, 2.0]
kappa = 1e-9
max_energy = 3.0
""")

# ---- simulate ----
case("simulate_two_rounds", """# case: the gradient scheme stopped after 2 rounds did not converge: exit 4, never "Solved"
# args: simulate --json --rounds 2 --step 0.001
# exit: 4
# json: /converged = false
# json: /termination = "max_rounds"
# json: /outcome = "not_converged"
""", q1(2,"[4.0, 3.0]","1.0","1.0","0.0","count = 3\njitter = 0.3\n"))
case("simulate_fast_converges", """# case: the fast scheme converges to the closed-form prices (exit 0)
# args: simulate --json --rule fast
# exit: 0
# json: /converged = true
# json: /prices/0 ~ 2.0 rel 1e-9
# json: /prices/1 ~ 1.5 rel 1e-9
# note: one customer θ = [4, 3], κ = c = 1, e = 0: q = θ/2, p = q = [2, 1.5].
""", q1(2,"[4.0, 3.0]","1.0","1.0","0.0"))
case("simulate_tiny_prices_fast", """# case: the fast scheme at prices of 1e-12 (money x 1e-12) converges to the same relative accuracy
# args: simulate --json --rule fast
# exit: 0
# json: /converged = true
# json: /prices/0 ~ 2e-12 rel 1e-9
# json: /prices/1 ~ 1.5e-12 rel 1e-9
# note: θ = 1e-12·[4, 3], κ = c = 1e-12, e = 0: q = θ/(κ + c) = [2, 1.5], p = c q = 1e-12·[2, 1.5].
""", q1(2,"[4e-12, 3e-12]","1e-12","1e-12","0.0"))

# gradient scheme (paper rule) with quantities x 1e12, money x 1e-12: every start price is 0
for name, s_, r_ in [("simulate_gradient_zero_start_prices", 1e12, 1e-12), ("simulate_gradient_tiny_quantities", 1e-12, 1.0)]:
    case(name, f"""# case: gradient scheme (eqs. 41-42), 3 identical customers, quantities x {s_:g}, money x {r_:g}: the run starts at prices C'(0) = 0 and must not call that converged; it reaches the closed form
# args: simulate --json
# exit: 0
# json: /converged = true
# json: /prices/0 ~ {g(3*r_)} rel 1e-8
# json: /prices/1 ~ {g(2.25*r_)} rel 1e-8
# note: θ = r·[4, 3], κ = c = r/s, e = 0, three customers: θ_t − κ q = c·3q → q = θ_t/(κ + 3c) = s·θ_t/(4r), p = 3cq = 3θ_t/4 = r·[3, 2.25].
# note: tolerance 1e-9 on the fixed-point residual (relative to the price scale), so prices agree to ~1e-9; asserted at 1e-8.
""", HEAD + f"""periods = 2
[supply]
curvature = {g(r_/s_)}
[[customers]]
count = 3
utility = "quadratic"
theta = [{g(4*r_)}, {g(3*r_)}]
kappa = {g(r_/s_)}
""")

for name, text in cases.items():
    open(name + ".toml", "w").write(text)
print(len(cases))
