#!/usr/bin/env python3
"""Writes the LP cross-check corpus (tests/corpus/*.toml) deterministically.

    python3 tests/corpus/generate.py

Every file is an ordinary scenario (`dr solve FILE` works on it); `dr verify FILE` and
`cargo xtask verify` cross-check its equilibria against the LP reference back end. File
names start with the model letter (b: bidding, h: shaping, s: stackelberg, m: mechanism)
and carry the size; `quick.txt` lists the subset run by `cargo xtask verify --quick` and crates/dr-cli/tests/verify.rs.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def fmt(v):
    return f"{v:.4f}".rstrip("0").rstrip(".") if v != int(v) else f"{v:.1f}"


def flist(xs):
    return "[" + ", ".join(fmt(x) for x in xs) + "]"


def write(name, comment, body):
    with open(os.path.join(HERE, name), "w") as f:
        for line in comment.strip().splitlines():
            f.write(f"# {line}".rstrip() + "\n")
        f.write(body.lstrip())


# ------------------------------------------------------------------------- bidding
def bidding(name, comment, n, d, seed, a=(1.0, 2.0), h=(0.5, 4.5), cap=None, surplus=False,
            half=0.0):
    rng = random.Random(seed)
    body = 'model = "bidding"\n'
    body += f"surplus = {fmt(d)}\n" if surplus else f"deficit = {fmt(d)}\n"
    for i in range(n):
        body += "\n[[customers]]\n"
        if rng.random() < half:
            body += f"cost = {{ half_quadratic = {fmt(rng.uniform(1.0, 4.0))} }}\n"
        else:
            body += (f"cost = {{ linear = {fmt(rng.uniform(*a))}, "
                     f"quadratic = {fmt(rng.uniform(*h))} }}\n")
        if cap is not None:
            c = cap(i, rng)
            if c is not None:
                body += f"capacity = {fmt(c)}\n"
    write(name, comment, body)


bidding("b003_minimal_nash.toml",
        "Three customers: the smallest market with a Nash equilibrium (li-chen-dahleh-2015 Cor. 2).",
        3, 2.0, 1)
bidding("b002_two_customers.toml",
        "Two customers: no Nash equilibrium (Cor. 2); only the competitive one is checked.",
        2, 3.0, 2)
bidding("b004_half_quadratic.toml",
        "Four customers, half of them with pure quadratic costs ½ c q² (Theorem 6 setting mixed).",
        4, 5.0, 3, half=0.5)
bidding("b005_capacities.toml",
        "Five customers with binding capacities (footnote 3): some shed their full capacity.",
        5, 6.0, 4, cap=lambda i, r: [0.8, 1.5, 4.0, 0.5, 3.0][i])
bidding("b006_surplus.toml",
        "A surplus of 4 absorbed by six customers (li-chen-dahleh-2015 §II, sign flipped).",
        6, 4.0, 5, surplus=True)
bidding("b008_homogeneous.toml",
        "Eight customers with one cost (Corollary 4, homogeneous case).",
        8, 4.0, 6, a=(1.5, 1.5), h=(1.0, 1.0))
bidding("b010_water_filling.toml",
        "Ten customers, wide base costs: only a prefix of the C_i'(0) order is active (Theorems 2, 4).",
        10, 1.5, 7, a=(0.5, 6.0), h=(0.5, 2.0))
bidding("b020_capacity_nash.toml",
        "Twenty customers, half with capacities below d/2 that bind in the Nash equilibrium.",
        20, 12.0, 8, cap=lambda i, r: r.uniform(0.3, 1.2) if i % 2 == 0 else None)
bidding("b030_fig1.toml",
        "Thirty customers, d = 10, a ~ U[1,2], h ~ U[0.5,4.5] (the setting of li-chen-dahleh-2015 Fig. 1).",
        30, 10.0, 2015)
bidding("b050_mixed.toml",
        "Fifty customers, a third pure quadratic.",
        50, 20.0, 9, half=0.33)
bidding("b100_costs.toml",
        "One hundred customers, d = 25.",
        100, 25.0, 10)
bidding("b200_costs.toml",
        "Two hundred customers with capacities 0.5, d = 40.",
        200, 40.0, 11, cap=lambda i, r: 0.5)
bidding("b300_costs.toml",
        "Three hundred customers, d = 60, wide base costs (many inactive).",
        300, 60.0, 12, a=(0.5, 5.0))

write("b040_population.toml",
      "A drawn population of 40 customers (li-chen-dahleh-2015 §VII-A, ChaCha8 seed 3).",
      '''model = "bidding"
deficit = 12.0

[population]
count = 40
linear = [1.0, 2.0]
quadratic = [0.5, 4.5]
seed = 3
''')
write("b150_population_capacity.toml",
      "A drawn population of 150 customers with capacity 0.2 each, d = 20.",
      '''model = "bidding"
deficit = 20.0

[population]
count = 150
linear = [1.0, 2.0]
quadratic = [0.5, 4.5]
seed = 4
capacity = 0.2
''')


# --------------------------------------------------------------------- stackelberg
def stackelberg(name, comment, periods, companies, classes, extra=""):
    body = f'model = "stackelberg"\nperiods = {periods}\n'
    for c in companies:
        body += "\n[[companies]]\n" + c
    for c in classes:
        body += "\n[[consumers]]\n" + c
    body += extra
    write(name, comment, body)


stackelberg("s001_single.toml",
            "One company, two periods, one consumer (eq. 10, eq. 14).",
            2, ["supply = [3.0, 5.0]\n"], ["count = 1\nbudget = 4.0\n"])
stackelberg("s001_library_example.toml",
            "Two companies, three periods, 100 identical consumers with budget 5 (the dr-stackelberg example).",
            3, ["supply = [40.0, 60.0, 50.0]\n", "supply = [30.0, 30.0, 45.0]\n"],
            ["count = 100\nbudget = 5.0\n"])
stackelberg("s003_heterogeneous.toml",
            "Three classes with budgets 1, 4 and 10 over two companies and four periods: the\n"
            "poorest class buys nothing from the dearest entries (water-filling case).",
            4, ["supply = [50.0, 80.0, 60.0, 40.0]\n", "supply = [20.0, 20.0, 90.0, 30.0]\n"],
            ["count = 30\nbudget = 1.0\n", "count = 20\nbudget = 4.0\n", "count = 10\nbudget = 10.0\n"])
stackelberg("s001_ecogrid_day.toml",
            "An EcoGrid-like day: one company, 24 periods, 2000 consumers with budget 7.55\n"
            "(alshehri-liu-chen-basar §VIII-A).",
            24, ["supply = [1900.0, 1800.0, 1900.0, 2000.0, 2200.0, 2400.0, 2450.0, 2400.0, 2350.0, "
                 "2375.0, 2375.0, 2400.0, 2550.0, 2700.0, 2650.0, 2550.0, 2450.0, 2350.0, 2250.0, "
                 "2150.0, 2100.0, 2000.0, 1850.0, 1900.0]\n"],
            ["count = 2000\nbudget = 7.55\n"])
stackelberg("s002_price_max.toml",
            "A price cap that binds (Remark 3): the scarce company sells at p_max and rations.",
            2, ["supply = [5.0, 6.0]\nprice_max = 0.5\n", "supply = [40.0, 50.0]\n"],
            ["count = 20\nbudget = 3.0\n", "count = 5\nbudget = 6.0\n"])
stackelberg("s002_price_min.toml",
            "A price floor that binds (Remark 3): the abundant company keeps unsold supply.",
            2, ["supply = [400.0, 500.0]\nprice_min = 0.2\n", "supply = [10.0, 12.0]\n"],
            ["count = 10\nbudget = 5.0\n", "count = 4\nbudget = 2.0\n"])
stackelberg("s002_weights.toml",
            "A class with time- and company-specific weights (eq. 28) next to a uniform class.",
            3, ["supply = [30.0, 40.0, 35.0]\n", "supply = [25.0, 20.0, 30.0]\n"],
            ["count = 15\nbudget = 4.0\nweights = { gamma = [1.0, 2.0, 0.5, 1.5, 1.0, 0.8], "
             "zeta = [0.5, 1.0, 1.0, 0.2, 2.0, 1.0] }\n",
             "count = 10\nbudget = 6.0\nzeta = 0.5\ngamma = 2.0\n"])
stackelberg("s002_zeta_zero.toml",
            "Utilities γ ln(d) (ζ = 0): demand is positive everywhere (log barrier at 0).",
            2, ["supply = [10.0, 14.0]\n", "supply = [8.0, 6.0]\n"],
            ["count = 5\nbudget = 3.0\nzeta = 0.0\n", "count = 3\nbudget = 1.0\nzeta = 0.0\ngamma = 2.0\n"])

rng = random.Random(21)
stackelberg("s020_individuals.toml",
            "Twenty individual consumers with budgets U[1, 8], two companies, six periods.",
            6, ["supply = " + flist([rng.uniform(5, 15) for _ in range(6)]) + "\n",
                "supply = " + flist([rng.uniform(3, 10) for _ in range(6)]) + "\n"],
            [f"budget = {fmt(rng.uniform(1, 8))}\n" for _ in range(20)])
rng = random.Random(22)
stackelberg("s050_classes.toml",
            "Fifty classes (counts 1–20, budgets U[2, 10], ζ U[0.5, 2]), three companies, two periods.",
            2, ["supply = " + flist([rng.uniform(50, 150) for _ in range(2)]) + "\n" for _ in range(3)],
            [f"count = {rng.randint(1, 20)}\nbudget = {fmt(rng.uniform(2, 10))}\n"
             f"zeta = {fmt(rng.uniform(0.5, 2.0))}\n" for _ in range(50)])
rng = random.Random(23)
stackelberg("s200_individuals.toml",
            "Two hundred individual consumers, one company, four periods, budgets U[0.5, 5].",
            4, ["supply = " + flist([rng.uniform(80, 160) for _ in range(4)]) + "\n"],
            [f"budget = {fmt(rng.uniform(0.5, 5))}\n" for _ in range(200)])
stackelberg("s001_allocation_game.toml",
            "Companies that split a total by the power allocation game (Theorem 3) before pricing.",
            3, ["total = 90.0\n", "total = 60.0\n"], ["count = 40\nbudget = 3.0\n"])


# ----------------------------------------------------------------------- mechanism
def mechanism(name, comment, periods, prices, p0, users, constraints=""):
    body = (f'model = "mechanism"\nperiods = {periods}\nenergy_prices = {flist(prices)}\n'
            f"peak_price = {fmt(p0)}\n")
    for u in users:
        body += "\n[[users]]\n" + u
    body += constraints
    write(name, comment, body)


def rand_users(rng, n, periods, bounds=True, exports=False):
    out = []
    for i in range(n):
        if rng.random() < 0.5:
            u = ("utility = { log = { weight = " + flist([rng.uniform(0.5, 2.0) for _ in range(periods)])
                 + f", shift = {fmt(rng.uniform(0.5, 2.0))} }} }}\n")
        else:
            u = ("utility = { quadratic = { theta = " + flist([rng.uniform(0.5, 2.0) for _ in range(periods)])
                 + f", kappa = {fmt(rng.uniform(0.5, 2.0))} }} }}\n")
        if bounds:
            u += f"upper = {fmt(rng.uniform(1.0, 3.0))}\n"
        if exports and rng.random() < 0.3:
            u += f"lower = {fmt(-rng.uniform(0.2, 1.0))}\n"
        elif bounds:
            u += "lower = 0.0\n"
        out.append(u)
    return out


mechanism("m002_library_example.toml",
          "Two users, two periods, a community energy cap (the dr-mechanism example).",
          2, [0.1, 0.2], 0.5,
          ["utility = { log = { weight = [1.0, 2.0], shift = 1.0 } }\nupper = 3.0\n",
           "utility = { quadratic = { theta = [2.0, 1.5], kappa = [1.0, 1.0] } }\n"],
          "\n[[constraints]]\ncommunity_total = 3.0\n")
mechanism("m001_single_user.toml",
          "One user: the planner's problem only (the mechanism needs two users).",
          3, [0.1, 0.2, 0.15], 0.3,
          ["utility = { log = { weight = [1.0, 1.5, 0.7], shift = 1.0 } }\nlower = 0.0\nupper = 4.0\n"])
mechanism("m006_community.toml",
          "The six-household community of data/mechanism_community.toml (without its network).",
          4, [0.10, 0.08, 0.16, 0.06], 0.6,
          ["utility = { log = { weight = [1.0, 0.6, 1.8, 0.7], shift = 1.0 } }\nupper = 3.0\n",
           "utility = { log = { weight = [0.9, 1.2, 1.1, 0.5], shift = 1.0 } }\nlower = -0.5\nupper = 3.0\n",
           "utility = { quadratic = { theta = [1.2, 1.0, 1.6, 0.6], kappa = 1.0 } }\n",
           "utility = { quadratic = { theta = [0.8, 0.7, 1.3, 1.4], kappa = [1.0, 1.0, 1.2, 0.6] } }\n"
           "upper = [2.0, 2.0, 2.0, 3.0]\n",
           "utility = { log = { weight = [1.1, 1.5, 0.9, 0.3], shift = [1.0, 1.0, 1.5, 2.0] } }\n",
           "utility = { quadratic = { theta = [1.0, 0.2, 1.7, 0.8], kappa = 1.5 } }\nlower = -1.0\n"],
          "\n[[constraints]]\ncommunity_cap = 2.5\nperiod = 2\n\n[[constraints]]\ncommunity_total = 11.0\n")
mechanism("m004_quadratic_free.toml",
          "Four quadratic users, no constraints: only the peak price couples them.",
          3, [0.2, 0.1, 0.3], 0.4,
          ["utility = { quadratic = { theta = [1.5, 1.0, 2.0], kappa = 1.0 } }\n",
           "utility = { quadratic = { theta = [1.0, 1.2, 0.8], kappa = 0.5 } }\n",
           "utility = { quadratic = { theta = [2.0, 0.5, 1.0], kappa = 2.0 } }\n",
           "utility = { quadratic = { theta = [0.7, 1.7, 1.1], kappa = 1.5 } }\n"])
mechanism("m005_rows.toml",
          "Five log users with a per-user total, a general row and per-period community caps.",
          3, [0.1, 0.1, 0.2], 0.5,
          ["utility = { log = { weight = [1.0, 2.0, 1.0], shift = 1.0 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { log = { weight = [2.0, 1.0, 1.5], shift = 0.5 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { log = { weight = [0.5, 1.0, 2.0], shift = 1.5 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { log = { weight = [1.2, 1.2, 1.2], shift = 1.0 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { log = { weight = [1.8, 0.6, 0.9], shift = 2.0 } }\nlower = 0.0\nupper = 3.0\n"],
          "\n[[constraints]]\nuser_total = 2.0\nuser = 1\n"
          "\n[[constraints]]\nterms = [[0, 0, 1.0], [2, 0, 1.0], [4, 2, 0.5]]\nrhs = 1.5\n"
          "\n[[constraints]]\ncommunity_cap = 4.0\n")
rng = random.Random(31)
mechanism("m010_exports.toml",
          "Ten users, some of which may export (negative lower bounds), four periods.",
          4, [0.1, 0.12, 0.2, 0.08], 0.4, rand_users(rng, 10, 4, exports=True),
          "\n[[constraints]]\ncommunity_cap = 6.0\nperiod = 2\n")
rng = random.Random(32)
mechanism("m020_users.toml",
          "Twenty users, four periods, a community energy cap.",
          4, [0.1, 0.12, 0.2, 0.08], 0.5, rand_users(rng, 20, 4),
          "\n[[constraints]]\ncommunity_total = 30.0\n")
rng = random.Random(33)
mechanism("m050_users.toml",
          "Fifty users, three periods, per-period community caps.",
          3, [0.15, 0.1, 0.2], 0.8, rand_users(rng, 50, 3),
          "\n[[constraints]]\ncommunity_cap = 40.0\n")
rng = random.Random(34)
mechanism("m100_users.toml",
          "One hundred users, two periods.",
          2, [0.1, 0.2], 1.0, rand_users(rng, 100, 2),
          "\n[[constraints]]\ncommunity_total = 150.0\n")
rng = random.Random(35)
mechanism("m300_users.toml",
          "Three hundred users, one period (the peak price acts as a second energy price).",
          1, [0.1], 0.5, rand_users(rng, 300, 1),
          "\n[[constraints]]\ncommunity_total = 200.0\n")


# ------------------------------------------------------------------------- shaping
def shaping(name, comment, periods, curvature, linear, classes, seed=0):
    body = f'model = "shaping"\nperiods = {periods}\nseed = {seed}\n\n[supply]\n'
    body += f"curvature = {curvature}\nlinear = {linear}\n"
    for c in classes:
        body += "\n[[customers]]\n" + c
    write(name, comment, body)


shaping("h002_two_customers.toml",
        "Two customers over three periods (the dr-shaping example): one quadratic with daily\n"
        "energy in [1, 4], one log with at least 2.",
        3, "[0.5, 1.0, 0.5]", "[0.1, 0.1, 0.1]",
        ['utility = "quadratic"\ntheta = [2.0, 3.0, 2.5]\nkappa = 1.0\nmin_energy = 1.0\n'
         'max_energy = 4.0\n',
         'utility = "log"\nweight = [1.0, 2.0, 1.0]\nshift = 1.0\nmin_energy = 2.0\n'])
shaping("h004_binding_energy.toml",
        "Four customers whose daily energy bounds bind from above and below.",
        4, "[0.2, 0.4, 0.8, 0.3]", "0.05",
        ['count = 2\nutility = "quadratic"\ntheta = [1.0, 1.5, 2.5, 1.2]\nkappa = 0.5\n'
         'max_energy = 3.0\njitter = 0.2\n',
         'count = 2\nutility = "quadratic"\ntheta = [0.3, 0.2, 0.4, 0.3]\nkappa = 1.0\n'
         'min_energy = 2.0\njitter = 0.2\n'], seed=5)
shaping("h005_fixed_energy.toml",
        "Five electric vehicles with a fixed daily energy (min = max): only the timing is free.",
        6, "[0.1, 0.1, 0.2, 0.4, 0.4, 0.2]", "0.02",
        ['count = 5\nutility = "log"\nweight = [0.4, 0.5, 0.3, 0.2, 0.2, 0.4]\nshift = 1.0\n'
         'min_energy = 3.0\nmax_energy = 3.0\njitter = 0.3\nroll = 1\n'], seed=6)
shaping("h006_day.toml",
        "A 24-hour day with six customers in three classes (a small data/shaping_day.toml).",
        24, "[0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, "
            "0.1, 0.1, 0.1, 0.15, 0.15, 0.15, 0.15, 0.15, 0.1, 0.06]", "0.04",
        ['count = 3\nutility = "quadratic"\ntheta = [0.2, 0.2, 0.2, 0.2, 0.2, 0.21, 0.24, 0.29, '
         '0.29, 0.24, 0.21, 0.2, 0.2, 0.2, 0.2, 0.2, 0.22, 0.28, 0.42, 0.56, 0.56, 0.42, 0.28, '
         '0.22]\nkappa = 0.18\nmin_energy = 1.0\nmax_energy = 2.6\njitter = 0.15\nroll = 1\n',
         'count = 2\nutility = "log"\nweight = [0.43, 0.42, 0.42, 0.38, 0.31, 0.24, 0.19, 0.17, '
         '0.16, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.17, 0.2, 0.27, 0.38, 0.5, 0.59, 0.6, 0.54, '
         '0.47]\nshift = 1.0\nmin_energy = 1.8\nmax_energy = 1.8\njitter = 0.2\nroll = 2\n',
         'utility = "quadratic"\ntheta = 0.15\nkappa = 0.4\nmin_energy = 0.8\n'
         'max_energy = 1.2\n'], seed=2010)
shaping("h030_customers.toml",
        "Thirty customers over six periods, quadratic and log classes with jitter.",
        6, "[0.01, 0.01, 0.02, 0.03, 0.02, 0.01]", "0.05",
        ['count = 20\nutility = "quadratic"\ntheta = [0.5, 0.6, 0.9, 1.2, 0.8, 0.5]\n'
         'kappa = 0.3\nmax_energy = 6.0\njitter = 0.25\nroll = 1\n',
         'count = 10\nutility = "log"\nweight = [0.8, 0.6, 0.5, 0.5, 0.7, 0.9]\nshift = 1.0\n'
         'min_energy = 2.0\njitter = 0.25\n'], seed=30)
shaping("h080_customers.toml",
        "Eighty customers over three periods, one jittered quadratic class.",
        3, "[0.005, 0.01, 0.008]", "[0.05, 0.08, 0.06]",
        ['count = 80\nutility = "quadratic"\ntheta = [0.6, 1.0, 0.8]\nkappa = 0.4\n'
         'min_energy = 0.5\nmax_energy = 3.0\njitter = 0.4\nroll = 1\n'], seed=80)


# ------------------------------------------------- issue 14: sizes and extreme scales
def exact(v):
    """Shortest round-trip form (valid TOML), for values that span many decades."""
    return repr(float(v))


def bidding_exact(name, comment, d, customers, surplus=False):
    body = 'model = "bidding"\n'
    body += f"surplus = {exact(d)}\n" if surplus else f"deficit = {exact(d)}\n"
    for a, h, cap in customers:
        body += f"\n[[customers]]\ncost = {{ linear = {exact(a)}, quadratic = {exact(h)} }}\n"
        if cap is not None:
            body += f"capacity = {exact(cap)}\n"
    write(name, comment, body)


bidding("b1000_capacities.toml",
        "A thousand customers, d = 150, a ~ U[1,2], h ~ U[0.5,4.5]; every third has a capacity\n"
        "U[0.05, 0.3] (binding in both equilibria for many). Issue 14 size target (< 30 s).",
        1000, 150.0, 14, cap=lambda i, r: r.uniform(0.05, 0.3) if i % 3 == 0 else None)
bidding("b1000_uncapacitated.toml",
        "A thousand customers without capacities, d = 200: the Nash problem's only bound is the\n"
        "barrier d/2 of the Nash transform (li-chen-dahleh-2015 eq. 17). Issue 14 size target.",
        1000, 200.0, 15)
bidding("b500_wide.toml",
        "Five hundred customers, wide base costs a ~ U[0.5, 8] (a water-filling prefix is active).",
        500, 80.0, 16, a=(0.5, 8.0))
write("b1000_population.toml",
      "A drawn population of 1000 customers with capacity 0.3 each, d = 120 (ChaCha8 seed 14).",
      '''model = "bidding"
deficit = 120.0

[population]
count = 1000
linear = [1.0, 2.0]
quadratic = [0.5, 4.5]
seed = 14
capacity = 0.3
''')
write("b10000_population.toml",
      "A drawn population of 10^4 customers, d = 1500 (ChaCha8 seed 15). Issue 14 size target\n"
      "(< 5 min); above the former 2000-variable limit of `dr verify`.",
      '''model = "bidding"
deficit = 1500.0

[population]
count = 10000
linear = [1.0, 2.0]
quadratic = [0.5, 4.5]
seed = 15
''')

# Extreme scales (issue 11 finding 6, issue 14): valid inputs whose units span many decades.
bidding_exact("b003_deficit_1e-12.toml",
              "Deficit 1e-12 among three customers (tolerances relative to the data's scale).",
              1e-12, [(1.8, 3.5, None), (1.5, 2.3, None), (1.7, 0.9, None)])
bidding_exact("b003_deficit_1e12.toml",
              "Deficit 1e12 among three customers (tolerances relative to the data's scale).",
              1e12, [(1.8, 3.5, None), (1.5, 2.3, None), (1.7, 0.9, None)])
bidding_exact("b004_prices_near_zero.toml",
              "Costs of order 1e-10: the clearing prices are near zero (about 3e-10).",
              1.0, [(1e-10, 1e-10, None), (2e-10, 2e-10, None), (3e-10, 4e-10, None),
                    (2.5e-10, 1e-10, None)])
bidding_exact("b004_costs_1e-8_1e8.toml",
              "Cost coefficients spanning 1e-8 … 1e8 among four customers.",
              1.0, [(1e-8, 1e8, None), (1.0, 1e-8, None), (1e-4, 1e4, None), (10.0, 1.0, None)])
bidding_exact("b005_capacities_1e12.toml",
              "Five customers with capacities, every quantity scaled by 1e12.",
              6e12, [(1.8, 3.5e-12, 0.8e12), (1.5, 2.3e-12, 1.5e12), (1.7, 0.9e-12, 4e12),
                     (1.2, 1.1e-12, 0.5e12), (1.9, 2.0e-12, 3e12)])
bidding_exact("b006_surplus_1e-12.toml",
              "A surplus of 1e-12 absorbed by six customers.",
              1e-12, [(1.1, 0.6, None), (1.3, 1.2, None), (1.5, 2.0, None), (1.0, 4.0, None),
                      (1.9, 0.7, None), (1.2, 3.3, None)], surplus=True)
# (One user alone with shift 1e-9, m001_single_user's data, stays inconclusive: it is
# tests/adversarial/verify/inconclusive_log_shift_1e-9.toml, which asserts exit 5.)
mechanism("m003_log_shift_1e-9.toml",
          "Three users, two with log shifts 1e-9, a community cap that binds.",
          2, [0.1, 0.2], 0.4,
          ["utility = { log = { weight = [1.0, 2.0], shift = 1e-9 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { log = { weight = [0.5, 1.5], shift = 1e-9 } }\nlower = 0.0\nupper = 3.0\n",
           "utility = { quadratic = { theta = [2.0, 1.5], kappa = 1.0 } }\nlower = 0.0\nupper = 3.0\n"],
          "\n[[constraints]]\ncommunity_total = 2.0\n")
stackelberg("s002_zeta_1e-9.toml",
            "Utilities γ ln(ζ + d) with ζ = 1e-9 (log shifts near the barrier).",
            2, ["supply = [10.0, 14.0]\n", "supply = [8.0, 6.0]\n"],
            ["count = 5\nbudget = 3.0\nzeta = 1e-9\n", "count = 3\nbudget = 1.0\nzeta = 1e-9\ngamma = 2.0\n"])
stackelberg("s001_supply_1e12.toml",
            "One company, two periods, supply and budgets of order 1e12.",
            2, ["supply = [3e12, 5e12]\n"], ["count = 2\nbudget = 4e12\n"])
stackelberg("s001_budget_1e-12.toml",
            "Two companies, budgets of order 1e-12.",
            2, ["supply = [3.0, 5.0]\n", "supply = [2.0, 1.0]\n"], ["count = 4\nbudget = 4e-12\n"])
rng = random.Random(36)
mechanism("m500_users.toml",
          "Five hundred users, four periods, a community energy cap (2004 LP variables with the\n"
          "peak). Issue 14 size target (< 30 s).",
          4, [0.1, 0.12, 0.2, 0.08], 0.5, rand_users(rng, 500, 4),
          "\n[[constraints]]\ncommunity_total = 700.0\n")
rng = random.Random(37)
mechanism("m200_exports.toml",
          "Two hundred users, three periods, some exporting, a per-period community cap.",
          3, [0.1, 0.15, 0.05], 0.6, rand_users(rng, 200, 3, exports=True),
          "\n[[constraints]]\ncommunity_cap = 150.0\n")
write("b2000_population_capacity.toml",
      "A drawn population of 2000 customers with capacity 0.1 each, d = 150 (ChaCha8 seed 16):\n"
      "many capacities bind in both equilibria.",
      '''model = "bidding"
deficit = 150.0

[population]
count = 2000
linear = [1.0, 2.0]
quadratic = [0.5, 4.5]
seed = 16
capacity = 0.1
''')
rng = random.Random(24)
stackelberg("s1000_individuals.toml",
            "A thousand individual consumers, two companies, three periods, budgets U[0.5, 5].",
            3, ["supply = " + flist([rng.uniform(800, 1600) for _ in range(3)]) + "\n",
                "supply = " + flist([rng.uniform(300, 900) for _ in range(3)]) + "\n"],
            [f"budget = {fmt(rng.uniform(0.5, 5))}\n" for _ in range(1000)])
