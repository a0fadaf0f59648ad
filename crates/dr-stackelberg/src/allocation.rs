//! The power allocation game (alshehri-liu-chen-basar §V, Theorem 3, eq. 20, §IX-B
//! Theorem 6): before the Stackelberg game, each company `k` splits its total power `G_k`
//! over the `T` periods.
//!
//! With the equilibrium prices of eq. 14 the revenue of company `k` is (eq. 17)
//! `R_k = B s_k / Σ_{k'} s_{k'}`, `s_k = Σ_t G_k(t) / (G_k(t) + Z)` — a share of the total
//! budget `B` that grows with the strictly concave `s_k`. Hence (Theorem 3) the unique Nash
//! equilibrium is the equal split `G_k(t) = G_k / T`.
//!
//! Generalisations solved with the kernel:
//! - profit (eq. 20): `R_k − Σ_t c_{k,t}(G_k(t))` with convex generation costs
//!   `c(q) = a_t q + h_t q²`;
//! - generation limits `G_min ≤ G_k(t) ≤ G_max`, ramping limits
//!   `|G_k(t) − G_k(t−1)| ≤ R_t` and linear network constraints `Σ coef · G_k(t) ≤ rhs`
//!   (Theorem 6; rows that couple companies are taken with the others' supplies fixed, so the
//!   result is a generalised Nash equilibrium of the best-response dynamics).
//!
//! # Method
//! A company's best response maximises `ρ(s_k) − C_k(G_k)` with `ρ(s) = B s / (s + s_{−k})`
//! concave increasing. At the optimum `G_k` also maximises the separable
//! `θ s_k(G) − C_k(G)` with `θ = ρ'(s_k)`; for fixed `θ` that is one exact kernel solve
//! (the allocator for `Σ_t G_k(t) = G_k` with bounds, the interior-point method with ramping
//! or network rows), and `θ ↦ θ − ρ'(s_k(G(θ)))` is increasing, so Illinois regula falsi
//! finds `θ`. Without costs `θ` drops out. The Nash equilibrium is found by Gauss–Seidel
//! best-response rounds; its check is the largest unilateral gain.

use crate::error::StackelbergError;
use dr_convex::ipm::{self, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{allocate, AllocatorSettings, Bound, ConvexScalar, ScalarFamily, Status};
use dr_convex::{check_finite, check_len, check_nonnegative, check_positive};
use serde::Serialize;
use std::sync::Arc;

/// Convex generation cost `c_t(q) = a_t q + h_t q²` per period (eq. 20), `a_t, h_t ≥ 0`;
/// vectors of length 1 (the same every period) or `T`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationCost {
    /// `a_t`.
    pub linear: Vec<f64>,
    /// `h_t`.
    pub quadratic: Vec<f64>,
}

impl GenerationCost {
    /// The same cost `a q + h q²` in every period.
    pub fn uniform(linear: f64, quadratic: f64) -> Self {
        Self {
            linear: vec![linear],
            quadratic: vec![quadratic],
        }
    }
    fn at(v: &[f64], t: usize) -> f64 {
        if v.len() == 1 {
            v[0]
        } else {
            v[t]
        }
    }
    /// `(a_t, h_t)`.
    pub fn coefficients(&self, t: usize) -> (f64, f64) {
        (Self::at(&self.linear, t), Self::at(&self.quadratic, t))
    }
    /// `c_t(q)`.
    pub fn value(&self, t: usize, q: f64) -> f64 {
        let (a, h) = self.coefficients(t);
        a * q + h * q * q
    }
}

/// A company that chooses its allocation `G_k(t)` with `Σ_t G_k(t) = G_k`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocatingCompany {
    /// Total power `G_k > 0` over the horizon.
    pub total: f64,
    /// Generation cost (eq. 20); `None`: revenue only (Theorem 3).
    pub cost: Option<GenerationCost>,
    /// Minimum generation per period (length 0 = none, 1 = same every period, or `T`).
    pub min_generation: Vec<f64>,
    /// Maximum generation per period (length 0 = none, 1, or `T`).
    pub max_generation: Vec<f64>,
    /// Ramping limits `|G(t) − G(t−1)| ≤ R` (length 0 = none, 1, or `T − 1`).
    pub ramp_limit: Vec<f64>,
}

impl AllocatingCompany {
    /// A company with total `G_k`, no cost and no limits (Theorem 3).
    pub fn new(total: f64) -> Self {
        Self {
            total,
            cost: None,
            min_generation: Vec::new(),
            max_generation: Vec::new(),
            ramp_limit: Vec::new(),
        }
    }
    /// With a generation cost (eq. 20).
    pub fn with_cost(mut self, cost: GenerationCost) -> Self {
        self.cost = Some(cost);
        self
    }
    /// With generation limits per period.
    pub fn with_limits(mut self, min_generation: Vec<f64>, max_generation: Vec<f64>) -> Self {
        self.min_generation = min_generation;
        self.max_generation = max_generation;
        self
    }
    /// With ramping limits.
    pub fn with_ramp_limit(mut self, ramp_limit: Vec<f64>) -> Self {
        self.ramp_limit = ramp_limit;
        self
    }
    fn bound(v: &[f64], t: usize, default: f64) -> f64 {
        match v.len() {
            0 => default,
            1 => v[0],
            _ => v[t],
        }
    }
    fn lower(&self, t: usize) -> f64 {
        Self::bound(&self.min_generation, t, 0.0)
    }
    fn upper(&self, t: usize) -> f64 {
        Self::bound(&self.max_generation, t, f64::INFINITY)
    }
}

/// A company in the allocation game: a player, or a fixed supply profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CompanyStrategy {
    /// Supply `G_k(t)` fixed (not a player).
    Fixed(Vec<f64>),
    /// A player choosing its allocation.
    Allocate(AllocatingCompany),
}

/// A linear network row `Σ coef · G_k(t) ≤ rhs` (Theorem 6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkConstraint {
    /// `(company, period, coefficient)` terms.
    pub terms: Vec<(usize, usize, f64)>,
    /// Right-hand side.
    pub rhs: f64,
}

/// Settings of the allocation game's solvers, with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocationSettings {
    /// Stop the rounds when no allocation moves more than `tolerance · max G`.
    pub tolerance: f64,
    /// Most best-response rounds.
    pub max_rounds: usize,
    /// Largest relative unilateral gain accepted as a Nash equilibrium.
    pub gain_tolerance: f64,
    /// Settings of the interior-point solves (ramping/network constraints).
    pub ipm: IpmSettings,
}

impl Default for AllocationSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_rounds: 200,
            gain_tolerance: 1e-7,
            ipm: IpmSettings::default(),
        }
    }
}

/// The best response of one company.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationResponse {
    /// Its allocation `G_k(t)`.
    pub allocation: Vec<f64>,
    /// Its profit (revenue eq. 17 minus cost) at that allocation, others fixed.
    pub profit: f64,
    /// The marginal value of `s_k`, `θ = ρ'(s_k)` (1 without costs).
    pub theta: f64,
    /// Status of the last kernel solve.
    pub status: Status,
}

/// The Nash check: each player's gain from its best response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NashCheck {
    /// Largest relative gain `(profit(BR) − profit) / max(|profit|, 1e-300)`.
    pub max_gain: f64,
    /// Gain per company (0 for fixed companies).
    pub gains: Vec<f64>,
}

/// A Nash equilibrium of the allocation game.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationEquilibrium {
    /// Supplies `supply[k][t]`.
    pub supply: Vec<Vec<f64>>,
    /// Revenues (eq. 17).
    pub revenues: Vec<f64>,
    /// Profits (eq. 20).
    pub profits: Vec<f64>,
    /// Best-response rounds used.
    pub rounds: usize,
    /// Largest relative move of an allocation in each round.
    pub trace: Vec<f64>,
    /// The Nash check at the result.
    pub nash: NashCheck,
    /// Solved (converged and no profitable deviation) or MaxIterations.
    pub status: Status,
}

/// The separable term `θ (Z / (x + Z) − 1) + a x + h x²` = `−θ x/(x+Z) + c(x)`: minus
/// `θ` times a company's share term in eq. 17, plus its generation cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocationTerm {
    /// `θ ≥ 0`.
    pub theta: f64,
    /// `Z > 0`.
    pub zeta_total: f64,
    /// `a ≥ 0`.
    pub linear: f64,
    /// `h ≥ 0`.
    pub quadratic: f64,
}

impl ConvexScalar for AllocationTerm {
    fn value(&self, x: f64) -> f64 {
        let z = self.zeta_total;
        if x <= -z {
            return f64::INFINITY;
        }
        self.theta * (z / (x + z) - 1.0) + self.linear * x + self.quadratic * x * x
    }
    fn derivative(&self, x: f64) -> f64 {
        let s = x + self.zeta_total;
        -self.theta * self.zeta_total / (s * s) + self.linear + 2.0 * self.quadratic * x
    }
    fn second_derivative(&self, x: f64) -> f64 {
        let s = x + self.zeta_total;
        2.0 * self.theta * self.zeta_total / (s * s * s) + 2.0 * self.quadratic
    }
    fn domain(&self) -> (f64, f64) {
        (-self.zeta_total, f64::INFINITY)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        if self.linear == 0.0 && self.quadratic == 0.0 {
            let x = if p < 0.0 && self.theta > 0.0 {
                (self.theta * self.zeta_total / -p).sqrt() - self.zeta_total
            } else if p >= 0.0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            return x.max(lo).min(hi);
        }
        dr_convex::generic_inverse_derivative(self, p, lo, hi)
    }
}

/// The power allocation game (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationGame {
    periods: usize,
    companies: Vec<CompanyStrategy>,
    budget_total: f64,
    zeta_total: f64,
    network: Vec<NetworkConstraint>,
}

fn share(x: f64, z: f64) -> f64 {
    x / (x + z)
}

impl AllocationGame {
    /// Validates and builds a game: `T ≥ 1` periods, companies, total budget `B > 0`,
    /// `Z = Σ_n ζ_n > 0` (with `Z = 0` every allocation earns `B / K`), network rows.
    ///
    /// Errors name the field: `companies[k].total`, `companies[k].min_generation[t]`, …; a
    /// total outside `[Σ G_min, Σ G_max]` is [`InputError::InvertedBounds`](crate::InputError::InvertedBounds).
    pub fn new(
        periods: usize,
        companies: Vec<CompanyStrategy>,
        budget_total: f64,
        zeta_total: f64,
        network: Vec<NetworkConstraint>,
    ) -> Result<Self, StackelbergError> {
        if periods == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        if companies.is_empty() {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: "companies".into(),
            }));
        }
        crate::scenario::check_entries(companies.len(), periods)?;
        check_positive(|| "budget_total".into(), budget_total)?;
        check_positive(
            || "zeta_total (Σ count·ζ of the consumers)".into(),
            zeta_total,
        )?;
        for (k, c) in companies.iter().enumerate() {
            match c {
                CompanyStrategy::Fixed(s) => {
                    check_len(|| format!("companies[{k}].supply"), periods, s.len())?;
                    for (t, &g) in s.iter().enumerate() {
                        check_positive(|| format!("companies[{k}].supply[{t}]"), g)?;
                    }
                }
                CompanyStrategy::Allocate(a) => validate_company(k, a, periods)?,
            }
        }
        for (r, row) in network.iter().enumerate() {
            check_finite(|| format!("network[{r}].rhs"), row.rhs)?;
            for (i, &(k, t, c)) in row.terms.iter().enumerate() {
                if k >= companies.len() || t >= periods {
                    return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
                        field: format!("network[{r}].terms[{i}]"),
                        message: format!(
                            "(company {k}, period {t}) outside {} companies × {periods} periods",
                            companies.len()
                        ),
                    }));
                }
                check_finite(|| format!("network[{r}].terms[{i}].coefficient"), c)?;
            }
        }
        Ok(Self {
            periods,
            companies,
            budget_total,
            zeta_total,
            network,
        })
    }

    /// Number of periods.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// The companies.
    pub fn companies(&self) -> &[CompanyStrategy] {
        &self.companies
    }

    fn check_profile(&self, supply: &[Vec<f64>]) -> Result<(), StackelbergError> {
        check_len(|| "supply".into(), self.companies.len(), supply.len())?;
        for (k, row) in supply.iter().enumerate() {
            check_len(|| format!("supply[{k}]"), self.periods, row.len())?;
            for (t, &g) in row.iter().enumerate() {
                check_nonnegative(|| format!("supply[{k}][{t}]"), g)?;
            }
        }
        Ok(())
    }

    fn s(&self, row: &[f64]) -> f64 {
        row.iter().map(|&g| share(g, self.zeta_total)).sum()
    }

    /// Revenues of eq. 17, `R_k = B s_k / Σ s`, at a supply profile `[k][t]`.
    ///
    /// Errors: wrong shape or negative supplies.
    pub fn revenues(&self, supply: &[Vec<f64>]) -> Result<Vec<f64>, StackelbergError> {
        self.check_profile(supply)?;
        let s: Vec<f64> = supply.iter().map(|r| self.s(r)).collect();
        let total: f64 = s.iter().sum();
        Ok(s.iter().map(|sk| self.budget_total * sk / total).collect())
    }

    fn cost(&self, k: usize, row: &[f64]) -> f64 {
        match &self.companies[k] {
            CompanyStrategy::Allocate(AllocatingCompany { cost: Some(c), .. }) => {
                row.iter().enumerate().map(|(t, &q)| c.value(t, q)).sum()
            }
            _ => 0.0,
        }
    }

    /// Profits of eq. 20 (revenue eq. 17 minus generation cost).
    pub fn profits(&self, supply: &[Vec<f64>]) -> Result<Vec<f64>, StackelbergError> {
        let r = self.revenues(supply)?;
        Ok(r.iter()
            .enumerate()
            .map(|(k, rk)| rk - self.cost(k, &supply[k]))
            .collect())
    }

    /// The equal split `G_k(t) = G_k / T` of Theorem 3 (fixed companies keep theirs).
    pub fn equal_split(&self) -> Vec<Vec<f64>> {
        self.companies
            .iter()
            .map(|c| match c {
                CompanyStrategy::Fixed(s) => s.clone(),
                CompanyStrategy::Allocate(a) => vec![a.total / self.periods as f64; self.periods],
            })
            .collect()
    }

    /// The separable sub-problem `min Σ_t θ(Z/(G_t+Z) − 1) + c_t(G_t)` under company `k`'s
    /// constraints, with the others' supplies fixed (for network rows).
    fn subproblem(
        &self,
        k: usize,
        a: &AllocatingCompany,
        theta: f64,
        supply: &[Vec<f64>],
        settings: &AllocationSettings,
    ) -> Result<(Vec<f64>, Status), StackelbergError> {
        let t_n = self.periods;
        // Solved in units where the company's total is 1 and the largest objective
        // coefficient is 1 (the argmin is unchanged): x = G / S, money / M. The kernel's
        // tolerances then act relative to the data's own scale (issue 11).
        let scale = a.total;
        let coefficient = |t: usize| a.cost.as_ref().map_or((0.0, 0.0), |c| c.coefficients(t));
        let money = (0..t_n)
            .map(|t| {
                let (lin, quad) = coefficient(t);
                (lin * scale).max(quad * scale * scale)
            })
            .fold(theta, f64::max);
        let money = if money > 0.0 && money.is_finite() {
            money
        } else {
            1.0
        };
        let terms: Vec<AllocationTerm> = (0..t_n)
            .map(|t| {
                let (lin, quad) = coefficient(t);
                AllocationTerm {
                    theta: theta / money,
                    zeta_total: self.zeta_total / scale,
                    linear: lin * scale / money,
                    quadratic: quad * scale * scale / money,
                }
            })
            .collect();
        let lower: Vec<f64> = (0..t_n).map(|t| a.lower(t) / scale).collect();
        let upper: Vec<f64> = (0..t_n).map(|t| a.upper(t) / scale).collect();
        let rows: Vec<(usize, &NetworkConstraint)> = self
            .network
            .iter()
            .enumerate()
            .filter(|(_, r)| r.terms.iter().any(|&(kk, _, c)| kk == k && c != 0.0))
            .collect();
        let field = format!("companies[{k}]");
        if a.ramp_limit.is_empty() && rows.is_empty() {
            let alloc = allocate(
                &ScalarFamily { pieces: &terms },
                Bound::PerItem(&lower),
                Bound::PerItem(&upper),
                1.0,
                &AllocatorSettings::default(),
            )
            .map_err(StackelbergError::kernel(field))?;
            let x = alloc.x.iter().map(|x| x * scale).collect();
            return Ok((x, alloc.certificate.status));
        }
        let mut equalities = LinearRows::new(t_n);
        let all: Vec<(usize, f64)> = (0..t_n).map(|t| (t, 1.0)).collect();
        equalities
            .push_row(&all, 1.0)
            .map_err(StackelbergError::kernel(format!("{field}.total")))?;
        let mut inequalities = LinearRows::new(t_n);
        for t in 1..t_n {
            let r = AllocatingCompany::bound(&a.ramp_limit, t - 1, f64::INFINITY);
            if r.is_finite() {
                inequalities
                    .push_row(&[(t, 1.0), (t - 1, -1.0)], r / scale)
                    .map_err(StackelbergError::kernel(format!("{field}.ramp_limit")))?;
                inequalities
                    .push_row(&[(t - 1, 1.0), (t, -1.0)], r / scale)
                    .map_err(StackelbergError::kernel(format!("{field}.ramp_limit")))?;
            }
        }
        for &(r, row) in &rows {
            let mut rhs = row.rhs;
            let mut entries = Vec::new();
            for &(kk, t, c) in &row.terms {
                if kk == k {
                    entries.push((t, c));
                } else {
                    rhs -= c * supply[kk][t];
                }
            }
            inequalities
                .push_row(&entries, rhs / scale)
                .map_err(StackelbergError::kernel(format!("network[{r}]")))?;
        }
        let problem = SeparableProblem {
            objective: terms
                .iter()
                .map(|t| Arc::new(*t) as Arc<dyn ConvexScalar>)
                .collect(),
            lower,
            upper,
            equalities,
            inequalities,
        };
        let sol = ipm::solve(&problem, &settings.ipm).map_err(StackelbergError::kernel(field))?;
        let x = sol.x.iter().map(|x| x * scale).collect();
        Ok((x, sol.certificate.status))
    }

    /// Company `k`'s exact best response to the others' supplies in `supply` (`[k][t]`).
    ///
    /// Errors: bad profile; `k` not a player; a kernel error naming the company.
    pub fn best_response(
        &self,
        supply: &[Vec<f64>],
        k: usize,
        settings: &AllocationSettings,
    ) -> Result<AllocationResponse, StackelbergError> {
        self.check_profile(supply)?;
        let a = match self.companies.get(k) {
            Some(CompanyStrategy::Allocate(a)) => a,
            _ => {
                return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
                    field: format!("companies[{k}]"),
                    message: "not an allocating company".into(),
                }))
            }
        };
        let s_others: f64 = supply
            .iter()
            .enumerate()
            .filter(|(kk, _)| *kk != k)
            .map(|(_, r)| self.s(r))
            .sum();
        let b = self.budget_total;
        let rho_prime = |s: f64| b * s_others / ((s + s_others) * (s + s_others));
        let profit_of = |x: &[f64]| {
            let mut p = supply.to_vec();
            p[k] = x.to_vec();
            self.profits(&p).map(|v| v[k])
        };
        if a.cost.is_none() {
            let (x, status) = self.subproblem(k, a, 1.0, supply, settings)?;
            let profit = profit_of(&x)?;
            return Ok(AllocationResponse {
                allocation: x,
                profit,
                theta: 1.0,
                status,
            });
        }
        if s_others <= 0.0 {
            // Alone in the market: revenue B whatever the allocation; minimise cost.
            let (x, status) = self.subproblem(k, a, 0.0, supply, settings)?;
            let profit = profit_of(&x)?;
            return Ok(AllocationResponse {
                allocation: x,
                profit,
                theta: 0.0,
                status,
            });
        }
        // Illinois regula falsi on g(θ) = θ − ρ'(s_k(G(θ))), increasing, g(0) ≤ 0 ≤ g(B/s_−k).
        let eval = |theta: f64| -> Result<(f64, Vec<f64>, Status), StackelbergError> {
            let (x, st) = self.subproblem(k, a, theta, supply, settings)?;
            Ok((theta - rho_prime(self.s(&x)), x, st))
        };
        let (mut lo, mut hi) = (0.0, b / s_others);
        let (mut glo, mut x_lo, mut st_lo) = eval(lo)?;
        let (mut ghi, mut x_hi, mut st_hi) = eval(hi)?;
        let mut side = 0i8;
        for _ in 0..200 {
            if glo.abs() <= 1e-14 * hi || ghi.abs() <= 1e-14 * hi || hi - lo <= 1e-15 * hi {
                break;
            }
            let mid = if ghi > glo {
                lo - glo * (hi - lo) / (ghi - glo)
            } else {
                0.5 * (lo + hi)
            };
            let mid = if mid > lo && mid < hi {
                mid
            } else {
                0.5 * (lo + hi)
            };
            let (g, x, st) = eval(mid)?;
            if g < 0.0 {
                lo = mid;
                glo = g;
                x_lo = x;
                st_lo = st;
                if side == -1 {
                    ghi *= 0.5;
                }
                side = -1;
            } else {
                hi = mid;
                ghi = g;
                x_hi = x;
                st_hi = st;
                if side == 1 {
                    glo *= 0.5;
                }
                side = 1;
            }
        }
        let (theta, x, status) = if glo.abs() <= ghi.abs() {
            (lo, x_lo, st_lo)
        } else {
            (hi, x_hi, st_hi)
        };
        let profit = profit_of(&x)?;
        Ok(AllocationResponse {
            allocation: x,
            profit,
            theta,
            status,
        })
    }

    /// The Nash check: every player's relative gain from its best response.
    pub fn nash_gain(
        &self,
        supply: &[Vec<f64>],
        settings: &AllocationSettings,
    ) -> Result<NashCheck, StackelbergError> {
        let profits = self.profits(supply)?;
        let mut gains = vec![0.0; self.companies.len()];
        for (k, c) in self.companies.iter().enumerate() {
            if let CompanyStrategy::Allocate(_) = c {
                let br = self.best_response(supply, k, settings)?;
                gains[k] = (br.profit - profits[k]) / profits[k].abs().max(1e-300);
            }
        }
        Ok(NashCheck {
            max_gain: gains.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            gains,
        })
    }

    /// Checks that a supply profile meets every player's constraints (Theorem 6): its total,
    /// generation limits, ramping limits, and every network row, each relative to its own
    /// scale (`1e-7` of the largest term of the row). A violation means the game has no
    /// feasible allocation (the kernel's sub-problem could not meet the rows): an error
    /// naming the row and the company.
    fn check_feasible(&self, supply: &[Vec<f64>]) -> Result<(), StackelbergError> {
        const TOL: f64 = 1e-7;
        for (r, row) in self.network.iter().enumerate() {
            let lhs: f64 = row.terms.iter().map(|&(k, t, c)| c * supply[k][t]).sum();
            let scale = row
                .terms
                .iter()
                .map(|&(k, t, c)| (c * supply[k][t]).abs())
                .fold(row.rhs.abs(), f64::max);
            let players: Vec<usize> = {
                let mut v: Vec<usize> = row
                    .terms
                    .iter()
                    .filter(|&&(k, _, _)| matches!(self.companies[k], CompanyStrategy::Allocate(_)))
                    .map(|&(k, _, _)| k)
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let who = players
                .iter()
                .map(|k| match &self.companies[*k] {
                    CompanyStrategy::Allocate(a) => format!("companies[{k}] (total = {})", a.total),
                    CompanyStrategy::Fixed(_) => format!("companies[{k}]"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let totals_met = players.iter().all(|&k| match &self.companies[k] {
                CompanyStrategy::Allocate(a) => {
                    let sum: f64 = supply[k].iter().sum();
                    (sum - a.total).abs() <= TOL * a.total
                }
                CompanyStrategy::Fixed(_) => true,
            });
            if lhs > row.rhs + TOL * scale || !totals_met {
                return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
                    field: format!("network[{r}]"),
                    message: format!(
                        "Σ coefficient · G ≤ {} cannot hold together with the total, limits and \
                         ramping of {who}: the allocation game has no feasible allocation \
                         (Theorem 6 needs a non-empty strategy set)",
                        row.rhs
                    ),
                }));
            }
        }
        for (k, c) in self.companies.iter().enumerate() {
            let CompanyStrategy::Allocate(a) = c else {
                continue;
            };
            let row = &supply[k];
            let sum: f64 = row.iter().sum();
            let mut bad = (sum - a.total).abs() > TOL * a.total;
            for (t, &g) in row.iter().enumerate() {
                let (lo, hi) = (a.lower(t), a.upper(t));
                bad |= g < lo - TOL * a.total || g > hi + TOL * a.total;
                if t > 0 {
                    let r = AllocatingCompany::bound(&a.ramp_limit, t - 1, f64::INFINITY);
                    bad |= (g - row[t - 1]).abs() > r + TOL * a.total;
                }
            }
            if bad {
                return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
                    field: format!("companies[{k}].total"),
                    message: format!(
                        "total = {} cannot be allocated within the company's min_generation, \
                         max_generation and ramp_limit: no feasible allocation",
                        a.total
                    ),
                }));
            }
        }
        Ok(())
    }

    /// Solves the game by Gauss–Seidel best-response rounds from the equal split, with the
    /// Nash check at the end.
    ///
    /// Errors: an allocation that cannot meet a company's total, limits, ramping and the
    /// network rows, proven by the kernel ([`Status::Infeasible`], a Farkas ray), named:
    /// `network[r]` with the companies in it, or `companies[k].total`. A violation the kernel
    /// did not prove (a numerical failure) is not an error: the status is then not Solved.
    pub fn solve(
        &self,
        settings: &AllocationSettings,
    ) -> Result<AllocationEquilibrium, StackelbergError> {
        let mut supply = self.equal_split();
        let scale = supply
            .iter()
            .flatten()
            .fold(0.0_f64, |m, &g| m.max(g))
            .max(f64::MIN_POSITIVE);
        let mut trace = Vec::new();
        let mut rounds = 0;
        let mut converged = false;
        // The worst kernel status of the best responses (Infeasible is a proof: a Farkas ray).
        let mut kernel = Status::Solved;
        while rounds < settings.max_rounds {
            rounds += 1;
            let mut moved = 0.0_f64;
            for k in 0..self.companies.len() {
                if let CompanyStrategy::Allocate(_) = self.companies[k] {
                    let br = self.best_response(&supply, k, settings)?;
                    if br.status == Status::Infeasible || kernel.is_solved() {
                        kernel = br.status;
                    }
                    for (old, new) in supply[k].iter().zip(&br.allocation) {
                        moved = moved.max((old - new).abs() / scale);
                    }
                    supply[k] = br.allocation;
                }
            }
            trace.push(moved);
            if moved <= settings.tolerance {
                converged = true;
                break;
            }
        }
        // An allocation outside the constraints is an error only when the kernel proved
        // infeasibility; otherwise the kernel failed numerically and the game's status says so.
        let feasible = match self.check_feasible(&supply) {
            Ok(()) => true,
            Err(e) if kernel == Status::Infeasible => return Err(e),
            Err(_) => false,
        };
        let nash = self.nash_gain(&supply, settings)?;
        let status = if !feasible {
            if kernel.is_solved() {
                Status::NumericalError
            } else {
                kernel
            }
        } else if converged && nash.max_gain <= settings.gain_tolerance {
            Status::Solved
        } else {
            Status::MaxIterations
        };
        Ok(AllocationEquilibrium {
            revenues: self.revenues(&supply)?,
            profits: self.profits(&supply)?,
            supply,
            rounds,
            trace,
            nash,
            status,
        })
    }
}

fn validate_company(
    k: usize,
    a: &AllocatingCompany,
    periods: usize,
) -> Result<(), StackelbergError> {
    check_positive(|| format!("companies[{k}].total"), a.total)?;
    let lens = |name: &str, v: &[f64], full: usize| -> Result<(), StackelbergError> {
        if v.len() > 1 && v.len() != full {
            return Err(StackelbergError::Input(
                dr_convex::InputError::LengthMismatch {
                    field: format!("companies[{k}].{name}"),
                    expected: full,
                    got: v.len(),
                },
            ));
        }
        Ok(())
    };
    lens("min_generation", &a.min_generation, periods)?;
    lens("max_generation", &a.max_generation, periods)?;
    lens(
        "ramp_limit",
        &a.ramp_limit,
        periods.saturating_sub(1).max(1),
    )?;
    for (t, &v) in a.min_generation.iter().enumerate() {
        check_nonnegative(|| format!("companies[{k}].min_generation[{t}]"), v)?;
    }
    for (t, &v) in a.max_generation.iter().enumerate() {
        if v.is_nan() {
            return Err(StackelbergError::Input(dr_convex::InputError::NotFinite {
                field: format!("companies[{k}].max_generation[{t}]"),
                value: v,
            }));
        }
    }
    for (t, &v) in a.ramp_limit.iter().enumerate() {
        check_nonnegative(|| format!("companies[{k}].ramp_limit[{t}]"), v)?;
    }
    let (mut lo_sum, mut hi_sum) = (0.0, 0.0);
    for t in 0..periods {
        let (lo, hi) = (a.lower(t), a.upper(t));
        if lo > hi {
            return Err(StackelbergError::Input(
                dr_convex::InputError::InvertedBounds {
                    field: format!("companies[{k}].min_generation/max_generation[{t}]"),
                    lower: lo,
                    upper: hi,
                },
            ));
        }
        lo_sum += lo;
        hi_sum += hi;
    }
    if a.total < lo_sum {
        return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
            field: format!("companies[{k}].total"),
            message: format!(
                "total = {} is below Σ companies[{k}].min_generation = {lo_sum} over the {periods} \
                 periods: the company cannot meet its minimum generation",
                a.total
            ),
        }));
    }
    if a.total > hi_sum {
        return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
            field: format!("companies[{k}].total"),
            message: format!(
                "total = {} is above Σ companies[{k}].max_generation = {hi_sum} over the {periods} \
                 periods: the company cannot place its total",
                a.total
            ),
        }));
    }
    if let Some(c) = &a.cost {
        lens("generation_cost.linear", &c.linear, periods)?;
        lens("generation_cost.quadratic", &c.quadratic, periods)?;
        if c.linear.is_empty() || c.quadratic.is_empty() {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: format!("companies[{k}].generation_cost"),
            }));
        }
        for (t, &v) in c.linear.iter().enumerate() {
            check_nonnegative(|| format!("companies[{k}].generation_cost.linear[{t}]"), v)?;
        }
        for (t, &v) in c.quadratic.iter().enumerate() {
            check_nonnegative(
                || format!("companies[{k}].generation_cost.quadratic[{t}]"),
                v,
            )?;
        }
    }
    Ok(())
}
