//! Learning the Nash equilibrium: users update their own messages round by round from the
//! messages they can read (`N(i) ∪ {i}` in the distributed mechanism), as a kernel
//! [`Stepper`] (one round = one step: the users apply the update decided from the last
//! round's messages, then the new profile is measured), run by the kernel [`Executor`]
//! ([`Learner::executor`]: round limit, a per-round trace as an observer) and ending with the
//! kernel's [`Termination`].
//!
//! wei-anastasopoulos leave open how users learn the NE (§VI). Two dynamics are offered:
//!
//! - [`LearningRule::BestResponse`]: damped simultaneous best responses,
//!   `m^i ← m^i + α (BR^i(m^{−i}) − m^i)` for every component. Its rest points are exactly
//!   the NE. **Limitation (structural):** the best response of a peak price is
//!   `[s_t^{−i} − (z^{−i} − ζ_t^{−i})/2]^+ ≤ s_t^{−i}`, so the largest `s_t` never grows;
//!   radial pricing only uses the ratios of `s` on the peak periods, and those ratios move
//!   only by shrinking the off-peak entries. When the optimal peak price `μ` is split
//!   unevenly over several tied peak periods, the dynamic chatters between peaks (it cannot
//!   raise one period's share) and does not converge — see the crate tests.
//! - [`LearningRule::PriceAdjustment`] (default): a distributed dual (price) iteration in
//!   the mechanism's messages. Each round user `i`, from the messages of the last round,
//!   1. sets its proxies and summaries (`β`, `n`, `ν`) to their best responses;
//!   2. moves its constraint prices by consensus plus a projected ascent step on the slack
//!      it sees, `q^{i,l} ← [(1−ω) q^{i,l} + ω q^{−i,l} − (γ/‖a^l‖²) e^{i,l}]^+`;
//!   3. moves its peak prices by consensus plus ascent on its estimate `ζ^{−i}` of the
//!      aggregate demand, projected on `{s ≥ 0, Σ_t s_t = p_0}`:
//!      `s^i ← Π((1−ω) s^i + ω s^{−i} + (γ/N)(ζ^{−i} − z^{−i}))`;
//!   4. demands at its own new prices over its own box (the rows of `A` that involve only one
//!      of its variables: its bounds), `y_t^i = argmax_{l_t ≤ y ≤ u_t} v_t^i(y) − c_t y` with
//!      `c_t = p_t + s_t^i + Σ_{shared l} q^{i,l} a_t^{i,l}`, and announces the box
//!      multipliers as its prices of those bound rows (priced exactly, not by ascent).
//!
//!   The step is normalised by `‖a^l‖²` and by `N`, which the mechanism makes public (the
//!   taxes use every `a^{j,l}`), and taken in the data's units (`γ P/Q`, with the price
//!   and quantity units of [`crate::Model::scales`]), so `γ` is dimensionless, relative to
//!   the utilities' own curvature, and the dynamic is the same in any units. Every NE built by Theorem 2 is a rest point (there `RP = s = μ` and the box
//!   multipliers are `λ`), and a rest point with consensus is a NE.
//!
//! # Where it converges and where it fails (measured; see the crate tests)
//! - Price adjustment, `γ = 0.1`, `ω = 0.5`, random instances as in the tests (`N ≤ 8`,
//!   `T ≤ 6`, bounds, budgets, community caps, general rows): 99/100 converge in the
//!   centralized mechanism, 98/100 in the distributed one (on a graph with a cycle), median
//!   ≈ 260 rounds; `N = 20`, `T = 24`: ≈ 500 rounds centralized, ≈ 3 000 distributed on a
//!   random tree (the price consensus diffuses over the tree). With `γ = 0.3`, 19/100 stop
//!   at the round limit.
//! - A too large step oscillates for ever (`MaxRounds`): on a symmetric community with one
//!   binding cap the iteration is `d_{k+1} = (1 − γ(N−1)/N) d_k − (γ/N) d_{k−1}`, stable
//!   for `γ = 1` and unstable for `γ = 6` when `N = 4` (tested).
//! - A shared row with a negative coefficient can price a log user's energy at `≤ 0`
//!   during the transient; its demand then does not exist and the run stops with
//!   `Diverged` (tested; a smaller step avoids it).
//! - The best-response dynamic fails whenever the optimal peak price is split unevenly over
//!   tied peak periods (tested); it converges with a single peak period.
//!
//! Convergence is measured by the exact quantity that defines a NE: the largest
//! best-response gain of any user ([`crate::game::GainBreakdown`]), relative to that user's
//! money scale (so a tolerance means the same for utilities in units of 10⁻¹² or 10¹²).

use crate::centralized::{CentralizedMechanism, MessageProfile};
use crate::distributed::{DistributedMechanism, DistributedProfile};
use crate::error::MechanismError;
use crate::game::{self, OwnUpdate, Provider};
use dr_convex::{Executor, Run, Step, Stepper, Termination, TraceMode};
use serde::Serialize;

/// How users update their messages (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum LearningRule {
    /// Damped best responses with damping `α ∈ (0, 1]`.
    BestResponse {
        /// `α`.
        damping: f64,
    },
    /// Consensus + projected price ascent with step `γ > 0` and consensus weight `ω ∈ [0, 1]`.
    PriceAdjustment {
        /// `γ`.
        step: f64,
        /// `ω`.
        consensus: f64,
    },
}

/// Settings of a [`Learner`], with defaults (price adjustment, `γ = 0.1`, `ω = 0.5`,
/// 20 000 rounds, gain tolerance `1e-10`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningSettings {
    /// The dynamic.
    pub rule: LearningRule,
    /// Most rounds.
    pub max_rounds: usize,
    /// Converged when every user's best-response gain is at most this *relative to the
    /// user's money scale* ([`crate::game::GainBreakdown::relative`]), so that the test
    /// means the same in any units.
    pub tolerance: f64,
}

impl Default for LearningSettings {
    fn default() -> Self {
        Self {
            rule: LearningRule::PriceAdjustment {
                step: 0.1,
                consensus: 0.5,
            },
            max_rounds: 20_000,
            tolerance: 1e-10,
        }
    }
}

impl LearningSettings {
    fn validate(&self) -> Result<(), MechanismError> {
        let range =
            |field: &str, v: f64, lo: f64, hi: f64, open_lo: bool| -> Result<(), MechanismError> {
                dr_convex::check_finite(|| field.to_string(), v)?;
                let ok = if open_lo {
                    v > lo && v <= hi
                } else {
                    v >= lo && v <= hi
                };
                if ok {
                    Ok(())
                } else {
                    Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                        field: field.to_string(),
                        value: v,
                        requirement: format!(
                            "must lie in {}{lo}, {hi}]",
                            if open_lo { "(" } else { "[" }
                        )
                        .into(),
                    }))
                }
            };
        match self.rule {
            LearningRule::BestResponse { damping } => range("damping", damping, 0.0, 1.0, true)?,
            LearningRule::PriceAdjustment { step, consensus } => {
                range("step", step, 0.0, f64::MAX, true)?;
                range("consensus", consensus, 0.0, 1.0, false)?;
            }
        }
        dr_convex::check_positive(|| "tolerance".into(), self.tolerance)?;
        Ok(())
    }
}

/// One round of the trace (the profile *before* that round's update).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct LearningRecord {
    /// Round index (0 = the initial profile).
    pub round: usize,
    /// Largest best-response gain of any user.
    pub max_gain: f64,
    /// Largest best-response gain relative to its user's money scale (the convergence test).
    pub max_relative_gain: f64,
    /// `max_l (a^l y − b^l)^+` (in the rows' own units).
    pub infeasibility: f64,
    /// Largest spread of the announced prices (`q^{·,l}`, `s_t^·`) across users.
    pub price_disagreement: f64,
    /// Welfare `Σ v^i(y^i) − J(y)`.
    pub welfare: f64,
    /// Peak `max_t Σ_i y_t^i`.
    pub peak: f64,
}

/// A mechanism users can learn in (implemented by both mechanisms).
pub trait LearningGame {
    /// The message profile type.
    type Profile: Clone;
    /// The default starting profile: zero demands, prices and proxies, and peak prices
    /// `s_t^i = p_0 / T`.
    fn starting_profile(&self) -> Self::Profile;
    /// Validates a profile.
    fn check_profile(&self, m: &Self::Profile) -> Result<(), MechanismError>;
    /// The allocation `ŷ(m)`.
    fn allocation<'p>(&self, m: &'p Self::Profile) -> &'p [f64];
    #[doc(hidden)]
    fn round(&self, m: &Self::Profile, rule: LearningRule) -> (Self::Profile, bool);
    #[doc(hidden)]
    fn record(&self, m: &Self::Profile) -> LearningRecord;
}

/// The round's update rule; the price step `γ` is taken in the data's units: it is
/// multiplied by `P/Q` ([`crate::Model::scales`], a price per unit of quantity, i.e. a
/// curvature), so that the dynamic is the same in any money and quantity units.
fn own_rule(rule: LearningRule, model: &crate::Model) -> OwnUpdate {
    match rule {
        LearningRule::BestResponse { damping } => OwnUpdate::BestResponse { damping },
        LearningRule::PriceAdjustment { step, consensus } => {
            let units = model.scales();
            OwnUpdate::Prices {
                step: step * units.price / units.quantity,
                consensus,
            }
        }
    }
}

fn record_of<P: Provider>(p: &P, m: &P::Profile) -> LearningRecord {
    let model = p.model();
    let gains = game::gains(p, m);
    let parts = p.parts(m);
    let n = model.users();
    let (t_len, l_len) = (model.periods(), model.rows());
    let spread = |vals: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        (hi - lo).max(0.0)
    };
    let mut dis = 0.0_f64;
    for l in 0..l_len {
        dis = dis.max(spread(&mut (0..n).map(|i| parts.q[i * l_len + l])));
    }
    for t in 0..t_len {
        dis = dis.max(spread(&mut (0..n).map(|i| parts.s[i * t_len + t])));
    }
    let act = model.row_activity(parts.y);
    let infeasibility = act
        .iter()
        .zip(model.rhs())
        .map(|(a, b)| (a - b).max(0.0))
        .fold(0.0, f64::max);
    let agg = model.aggregate(parts.y);
    LearningRecord {
        round: 0,
        max_gain: gains.iter().map(|g| g.total).fold(0.0, f64::max),
        max_relative_gain: gains.iter().map(|g| g.relative).fold(0.0, f64::max),
        infeasibility,
        price_disagreement: dis,
        welfare: model.welfare(parts.y),
        peak: agg.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

impl LearningGame for CentralizedMechanism<'_> {
    type Profile = MessageProfile;
    fn starting_profile(&self) -> MessageProfile {
        let model = self.model();
        let mut m = MessageProfile::zeros(model);
        let s0 = model.peak_price() / model.periods() as f64;
        m.s.iter_mut().for_each(|s| *s = s0);
        m
    }
    fn check_profile(&self, m: &MessageProfile) -> Result<(), MechanismError> {
        self.validate(m)
    }
    fn allocation<'p>(&self, m: &'p MessageProfile) -> &'p [f64] {
        &m.y
    }
    fn round(&self, m: &MessageProfile, rule: LearningRule) -> (MessageProfile, bool) {
        self.update(m, own_rule(rule, self.model()))
    }
    fn record(&self, m: &MessageProfile) -> LearningRecord {
        record_of(self, m)
    }
}

impl LearningGame for DistributedMechanism<'_> {
    type Profile = DistributedProfile;
    fn starting_profile(&self) -> DistributedProfile {
        let model = self.model();
        let mut m = DistributedProfile::zeros(model, self.network());
        let s0 = model.peak_price() / model.periods() as f64;
        m.s.iter_mut().for_each(|s| *s = s0);
        m
    }
    fn check_profile(&self, m: &DistributedProfile) -> Result<(), MechanismError> {
        self.validate(m)
    }
    fn allocation<'p>(&self, m: &'p DistributedProfile) -> &'p [f64] {
        &m.y
    }
    fn round(&self, m: &DistributedProfile, rule: LearningRule) -> (DistributedProfile, bool) {
        self.update(m, own_rule(rule, self.model()))
    }
    fn record(&self, m: &DistributedProfile) -> LearningRecord {
        record_of(self, m)
    }
}

/// The result of [`Learner::run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearningOutcome<P> {
    /// The last profile.
    pub profile: P,
    /// Updates applied (rounds needed, when converged).
    pub rounds: usize,
    /// Why it stopped: `Converged` (every best-response gain at most the tolerance: the
    /// profile is a NE to tolerance), `MaxRounds`, `Diverged` (a demand response did not
    /// exist, or a message became non-finite), or `Stopped` by an observer.
    pub termination: Termination,
    /// Largest best-response gain at the last profile.
    pub max_gain: f64,
    /// Largest relative best-response gain at the last profile (the convergence test).
    pub max_relative_gain: f64,
    /// One record per round, the last one describing the final profile.
    pub trace: Vec<LearningRecord>,
}

/// The learning stepper: one step = one round of message updates by all users.
#[derive(Debug, Clone)]
pub struct Learner<'g, G: LearningGame> {
    game: &'g G,
    settings: LearningSettings,
    profile: G::Profile,
    round: usize,
    /// Whether the last measured profile is to be updated at the next step.
    pending: bool,
}

impl<'g, G: LearningGame> Learner<'g, G> {
    /// A learner from `initial` (e.g. [`LearningGame::starting_profile`]); errors name a bad
    /// setting or profile entry.
    pub fn new(
        game: &'g G,
        initial: G::Profile,
        settings: LearningSettings,
    ) -> Result<Self, MechanismError> {
        settings.validate()?;
        game.check_profile(&initial)?;
        Ok(Self {
            game,
            settings,
            profile: initial,
            round: 0,
            pending: false,
        })
    }

    /// The current profile.
    pub fn profile(&self) -> &G::Profile {
        &self.profile
    }

    /// Updates applied so far.
    pub fn rounds(&self) -> usize {
        self.round
    }

    /// The kernel executor for this learner: `max_rounds` updates (so `max_rounds + 1`
    /// measured profiles, the initial one included) and a trace of every round. Add
    /// observers before [`Executor::run`]; convert its [`Run`] with `LearningOutcome::from`.
    pub fn executor<'o>(self) -> Executor<'o, Self> {
        let limit = self.settings.max_rounds.saturating_add(1);
        Executor::new(self)
            .max_rounds(limit)
            .trace(TraceMode::Always)
    }

    /// Runs until termination with [`Learner::executor`].
    pub fn run(self) -> LearningOutcome<G::Profile> {
        self.executor().run().into()
    }
}

impl<G: LearningGame> Stepper for Learner<'_, G> {
    type Round = LearningRecord;

    /// One round: every user updates its message from the last round's profile (not before
    /// round 0; a failed update ends the run as `Diverged`), then the profile is recorded;
    /// a NE to tolerance ends the run as `Converged` with this round.
    fn step(&mut self) -> Step<LearningRecord> {
        if self.pending {
            self.pending = false;
            let (next, ok) = self.game.round(&self.profile, self.settings.rule);
            if !ok || self.game.check_profile(&next).is_err() {
                return Step::Halt(Termination::Diverged);
            }
            self.profile = next;
            self.round += 1;
        }
        let mut rec = self.game.record(&self.profile);
        rec.round = self.round;
        if rec.max_relative_gain <= self.settings.tolerance {
            Step::Last(rec, Termination::Converged)
        } else {
            self.pending = true;
            Step::Next(rec)
        }
    }
}

impl<G: LearningGame> From<Run<Learner<'_, G>>> for LearningOutcome<G::Profile> {
    /// The outcome of an executor run; the last record describes the final profile.
    fn from(run: Run<Learner<'_, G>>) -> Self {
        let learner = run.stepper;
        LearningOutcome {
            max_gain: run.last.map_or(f64::INFINITY, |r| r.max_gain),
            max_relative_gain: run.last.map_or(f64::INFINITY, |r| r.max_relative_gain),
            profile: learner.profile,
            rounds: learner.round,
            termination: run.termination,
            trace: run.trace.unwrap_or_default(),
        }
    }
}
