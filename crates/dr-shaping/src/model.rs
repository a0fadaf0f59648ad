//! The demand-shaping model of chen-li-low-doyle-2010 §IV-A: customers with per-period
//! utilities and daily energy bounds, and a utility company with a per-period supply cost.
//!
//! Customer `i` draws `q_i(t) ≥ 0` in period `t = 1..T` with
//! `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i` (eqs. 27–28) and enjoys `Σ_t U_i(q_i(t), t)`. Utilities are
//! stored struct-of-arrays: a table of per-period profiles, and per customer the start of
//! its profile in that table and two scale factors. A customer pushed with explicit
//! profiles owns its `T` values (factors 1, exact); a customer of a jittered class
//! ([`Customers::push_variant`]) is its class's profile rotated and scaled, computed on
//! access with the expression that used to build it (`a[(t − shift) mod T] · f`), so
//! populations of `10⁶` customers over `T = 24` periods take `O(N + T)` memory, not
//! `O(N·T)`:
//! - quadratic `U(q) = θ q − ½ κ q²` (`κ > 0`: strictly concave),
//! - logarithmic `U(q) = w ln(s + q)` (`w > 0`, `s > 0`: finite at `q = 0`),
//! - power `U(q) = w (s + q)^α` (`w > 0`, `s > 0`, `0 < α < 1`: [`PowerUtility`]),
//! - user-supplied: any [`ConvexScalar`] (e.g. a [`dr_convex::ClosureConvex`]) given as the
//!   *disutility* `−U(·, t)`, one per period; its convexity is sampled on construction.
//!
//! The supply cost `C(Q, t)` (eq. 29) is quadratic `½ c_t Q² + e_t Q` (`c_t > 0`,
//! `e_t ≥ 0`: strictly convex, positive increasing marginal cost), polynomial
//! ([`SupplyCost::polynomial`]), piecewise quadratic ([`SupplyCost::piecewise_quadratic`])
//! or user-supplied per period. The supply at price `p` is `(C_t')⁻¹(p)` over the cost's domain: the constraint
//! `Q(t) = Σ_i q_i(t) ≥ 0` makes a bound `Q ≥ 0` redundant, so `p(t) = C'(Q(t), t)` holds
//! exactly at the equilibrium, as in the paper (eq. 30).

use crate::error::ShapingError;
use dr_convex::{generic_inverse_derivative, ConvexScalar, PlusHalfQuadratic};
use std::fmt;
use std::sync::Arc;

/// The kind of a customer's utility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UtilityKind {
    /// `U(q, t) = θ_t q − ½ κ_t q²`.
    Quadratic,
    /// `U(q, t) = w_t ln(s_t + q)`.
    Log,
    /// `U(q, t) = w_t (s_t + q)^α`, `0 < α < 1`.
    Power,
    /// A user-supplied disutility `−U(·, t)` per period.
    Custom,
}

/// One customer's utility, period by period (an owned copy of its parameters,
/// chen-li-low-doyle-2010 §IV-A).
#[derive(Debug, Clone)]
pub enum Utility {
    /// `U(q, t) = θ_t q − ½ κ_t q²` (chen-li-low-doyle-2010 §IV, strictly concave).
    Quadratic {
        /// `θ_t`: marginal utility at zero load.
        theta: Vec<f64>,
        /// `κ_t > 0`: curvature.
        kappa: Vec<f64>,
    },
    /// `U(q, t) = w_t ln(s_t + q)`.
    Log {
        /// `w_t > 0`.
        weight: Vec<f64>,
        /// `s_t > 0`.
        shift: Vec<f64>,
    },
    /// `U(q, t) = w_t (s_t + q)^α` (`w_t > 0`, `s_t > 0`, `0 < α < 1`): strictly concave and
    /// increasing, with a finite marginal utility `α w_t s_t^{α−1}` at `q = 0`.
    Power {
        /// `w_t > 0`.
        weight: Vec<f64>,
        /// `s_t > 0`.
        shift: Vec<f64>,
        /// The exponent `α ∈ (0, 1)` (one per customer).
        alpha: f64,
    },
    /// Disutilities `−U(·, t)` (convex), one per period.
    Custom(Vec<Arc<dyn ConvexScalar>>),
}

/// A borrowed view of one per-period parameter of one customer (`θ_t`, `κ_t`, `w_t` or
/// `s_t`, chen-li-low-doyle-2010 §IV-A): `T` stored values times a factor, read with
/// [`Profile::get`]. The factor is 1 for a customer pushed with explicit profiles (`x · 1 = x`
/// exactly) and the customer's jitter factor for a member of a jittered class, whose value
/// is then `a[(t − shift) mod T] · f` (the rotation is in which stored values are viewed).
#[derive(Clone, Copy)]
pub struct Profile<'a> {
    values: &'a [f64],
    factor: f64,
}

impl<'a> Profile<'a> {
    /// The parameter in period `t` (`None` when `t ≥ T`).
    #[inline]
    pub fn get(&self, t: usize) -> Option<f64> {
        self.values.get(t).map(|&v| v * self.factor)
    }
    /// The parameter in period `t` (`t < T` assumed).
    #[inline]
    pub(crate) fn at(&self, t: usize) -> f64 {
        self.values[t] * self.factor
    }
    /// Number of periods `T`.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// True when there are no periods (never, for a customer of a [`Customers`]).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// The `T` values in period order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = f64> + 'a {
        let factor = self.factor;
        self.values.iter().map(move |&v| v * factor)
    }
    /// The `T` values as a vector.
    pub fn to_vec(&self) -> Vec<f64> {
        self.iter().collect()
    }
}

impl fmt::Debug for Profile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A class's base profiles (`θ⁰_t`, `κ⁰_t` or `w⁰_t`, `s⁰_t` of chen-li-low-doyle-2010 §IV-A's
/// utilities) stored once in a [`Customers`] ([`Customers::add_class_profile`]), from which
/// [`Customers::push_variant`] derives rotated and scaled customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassProfile {
    /// Start of the doubled profile (`2T` values: `a[k mod T]`) in the profile table.
    start: usize,
    periods: usize,
    kind: UtilityKind,
    alpha: f64,
}

/// One customer of a jittered class (chen-li-low-doyle-2010 §IV-A, heterogeneous
/// customers): its parameters are the class profile rotated by `shift` periods and scaled,
/// `θ_t = θ⁰_{(t − shift) mod T} · first_factor`, `κ_t = κ⁰_{(t − shift) mod T} · second_factor`
/// (or `w`, `s` for log and power utilities).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    /// Factor of `θ` (or `w`).
    pub first_factor: f64,
    /// Factor of `κ` (or `s`).
    pub second_factor: f64,
    /// Rotation: period `t` takes the class's period `(t − shift) mod T`.
    pub shift: i64,
}

/// One period's disutility `f(q) = −U(q, t)` of one customer (internal, copyable).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    Quadratic { theta: f64, kappa: f64 },
    Log { weight: f64, shift: f64 },
    Power(PowerUtility),
    Custom(&'a dyn ConvexScalar),
}

/// The disutility `−U(q) = −w (s + q)^α` of a power utility (`w, s > 0`, `0 < α < 1`) as a
/// [`ConvexScalar`] on `q > −s` (chen-li-low-doyle-2010 §IV-A: `U` strictly concave and
/// increasing). Its inverse derivative is closed-form: `−α w (s + q)^{α−1} = p` ⇔
/// `q = (−p / (α w))^{1/(α−1)} − s` for `p < 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerUtility {
    /// `w > 0`.
    pub weight: f64,
    /// `s > 0`.
    pub shift: f64,
    /// `α ∈ (0, 1)`.
    pub alpha: f64,
}

impl ConvexScalar for PowerUtility {
    fn value(&self, q: f64) -> f64 {
        if q > -self.shift {
            -self.weight * (self.shift + q).powf(self.alpha)
        } else {
            f64::INFINITY
        }
    }
    fn derivative(&self, q: f64) -> f64 {
        -self.alpha * self.weight * (self.shift + q).powf(self.alpha - 1.0)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        self.alpha * (1.0 - self.alpha) * self.weight * (self.shift + q).powf(self.alpha - 2.0)
    }
    fn domain(&self) -> (f64, f64) {
        (-self.shift, f64::INFINITY)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        if p.is_nan() {
            return f64::NAN;
        }
        let q = if p < 0.0 {
            (-p / (self.alpha * self.weight)).powf(1.0 / (self.alpha - 1.0)) - self.shift
        } else {
            f64::INFINITY
        };
        q.max(lo).min(hi)
    }
}

impl Piece<'_> {
    /// `f(q) + ½ extra q²`.
    #[inline]
    pub(crate) fn value(&self, q: f64, extra: f64) -> f64 {
        let base = match *self {
            Piece::Quadratic { theta, kappa } => (0.5 * kappa * q - theta) * q,
            Piece::Log { weight, shift } => {
                if q > -shift {
                    -weight * (shift + q).ln()
                } else {
                    f64::INFINITY
                }
            }
            Piece::Power(f) => f.value(q),
            Piece::Custom(f) => f.value(q),
        };
        base + 0.5 * extra * q * q
    }
    /// `f'(q) + extra q`.
    #[inline]
    pub(crate) fn derivative(&self, q: f64, extra: f64) -> f64 {
        let base = match *self {
            Piece::Quadratic { theta, kappa } => kappa * q - theta,
            Piece::Log { weight, shift } => -weight / (shift + q),
            Piece::Power(f) => f.derivative(q),
            Piece::Custom(f) => f.derivative(q),
        };
        base + extra * q
    }
    /// `f''(q) + extra`.
    #[inline]
    pub(crate) fn second_derivative(&self, q: f64, extra: f64) -> f64 {
        let base = match *self {
            Piece::Quadratic { kappa, .. } => kappa,
            Piece::Log { weight, shift } => {
                let z = shift + q;
                weight / (z * z)
            }
            Piece::Power(f) => f.second_derivative(q),
            Piece::Custom(f) => f.second_derivative(q),
        };
        base + extra
    }
    /// `argmin_{q ≥ 0} f(q) + ½ extra q² − λ q` and its right slope `dq/dλ`.
    #[inline]
    pub(crate) fn response(&self, lambda: f64, extra: f64) -> (f64, f64) {
        match *self {
            Piece::Quadratic { theta, kappa } => {
                let k = kappa + extra;
                let x = (lambda + theta) / k;
                if x >= 0.0 {
                    (x, 1.0 / k)
                } else {
                    (0.0, 0.0)
                }
            }
            Piece::Log { weight, shift } => {
                if lambda * shift + weight < 0.0 {
                    return (0.0, 0.0);
                }
                let x = if extra > 0.0 {
                    // e q² + (e s − λ) q − (w + λ s) = 0, positive root, cancellation-free.
                    let b = extra * shift - lambda;
                    let disc = ((extra * shift + lambda).powi(2) + 4.0 * extra * weight).sqrt();
                    if b > 0.0 {
                        2.0 * (weight + lambda * shift) / (b + disc)
                    } else {
                        (disc - b) / (2.0 * extra)
                    }
                } else if lambda < 0.0 {
                    -weight / lambda - shift
                } else {
                    return (f64::INFINITY, f64::INFINITY);
                };
                let x = x.max(0.0);
                let z = shift + x;
                (x, 1.0 / (weight / (z * z) + extra))
            }
            Piece::Power(f) => Piece::Custom(&f).response(lambda, extra),
            Piece::Custom(f) => {
                let x = if extra == 0.0 {
                    f.inverse_derivative(lambda, 0.0, f64::INFINITY)
                } else {
                    generic_inverse_derivative(
                        &PlusHalfQuadratic {
                            f,
                            curvature: extra,
                        },
                        lambda,
                        0.0,
                        f64::INFINITY,
                    )
                };
                let x = if x.is_nan() { 0.0 } else { x.max(0.0) };
                let free = x > 0.0 || self.derivative(0.0, extra) <= lambda;
                let c = self.second_derivative(x, extra);
                if free && c > 0.0 && c.is_finite() {
                    (x, 1.0 / c)
                } else {
                    (x, 0.0)
                }
            }
        }
    }
}

/// Where a row's profile values are: `a[start + t] · fa`, `b[start + t] · fb` (factors 1 for
/// explicit rows); for a custom row, `start` indexes its pieces.
#[derive(Debug, Clone, Copy)]
struct Row {
    start: usize,
    fa: f64,
    fb: f64,
}

/// A population of customers over `T` periods, struct-of-arrays
/// (chen-li-low-doyle-2010 §IV-A).
///
/// Build it with [`Customers::new`] and the `push_*` methods (errors name
/// `customers[i].field[t]`), or in bulk with [`Customers::quadratic_population`].
#[derive(Clone)]
pub struct Customers {
    periods: usize,
    kind: Vec<UtilityKind>,
    /// The profile table of `θ` or `w`: each explicitly pushed customer's `T` values, and
    /// each class profile's `2T` values (doubled, so that every rotation is a slice).
    a: Vec<f64>,
    /// The profile table of `κ` or `s`, parallel to `a`.
    b: Vec<f64>,
    /// Per row: where its values are and their factors (one record: a piece reads all three).
    rows: Vec<Row>,
    custom: Vec<Arc<dyn ConvexScalar>>,
    /// The exponent `α` of power utilities (0 for other kinds), one per customer.
    alpha: Vec<f64>,
    min_energy: Vec<f64>,
    max_energy: Vec<f64>,
    /// How many identical customers each row stands for (≥ 1; see [`Customers::set_count`]).
    count: Vec<usize>,
}

impl fmt::Debug for Customers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customers")
            .field("periods", &self.periods)
            .field("rows", &self.kind.len())
            .field("customers", &self.population())
            .finish_non_exhaustive()
    }
}

fn check_profile(
    name: &str,
    values: &[f64],
    periods: usize,
    positive: bool,
) -> Result<(), ShapingError> {
    if values.len() != periods {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: name.into(),
            expected: periods,
            got: values.len(),
        }));
    }
    check_values(name, values.iter().copied(), positive)
}

/// Checks each value (`name[t]` finite, or positive when `positive`).
fn check_values(
    name: &str,
    values: impl Iterator<Item = f64>,
    positive: bool,
) -> Result<(), ShapingError> {
    for (t, v) in values.enumerate() {
        if positive {
            dr_convex::check_positive(|| format!("{name}[{t}]"), v)?;
        } else {
            dr_convex::check_finite(|| format!("{name}[{t}]"), v)?;
        }
    }
    Ok(())
}

/// Validates a power utility's exponent `0 < α < 1` (chen-li-low-doyle-2010 §IV-A: `U`
/// strictly concave and increasing).
fn check_alpha(alpha: f64) -> Result<(), ShapingError> {
    dr_convex::check_positive(|| "alpha".into(), alpha)?;
    if alpha >= 1.0 {
        return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
            field: "alpha".into(),
            value: alpha,
            requirement: "must be < 1 (a strictly concave power utility)".into(),
        }));
    }
    Ok(())
}

/// Validates daily energy bounds `0 ≤ Q ≤ Q̄ ≤ ∞` (eqs. 27–28).
fn check_energy(min_energy: f64, max_energy: f64) -> Result<(), ShapingError> {
    dr_convex::check_nonnegative(|| "min_energy".into(), min_energy)?;
    if max_energy.is_nan() || max_energy == f64::NEG_INFINITY {
        return Err(ShapingError::Input(dr_convex::InputError::NotFinite {
            field: "max_energy".into(),
            value: max_energy,
        }));
    }
    if max_energy < min_energy {
        return Err(ShapingError::Input(dr_convex::InputError::InvertedBounds {
            field: "max_energy".into(),
            lower: min_energy,
            upper: max_energy,
        }));
    }
    Ok(())
}

impl Customers {
    /// An empty population over `periods ≥ 1` periods.
    pub fn new(periods: usize) -> Result<Self, ShapingError> {
        if periods == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "periods".into(),
            }));
        }
        Ok(Self {
            periods,
            kind: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
            rows: Vec::new(),
            custom: Vec::new(),
            alpha: Vec::new(),
            min_energy: Vec::new(),
            max_energy: Vec::new(),
            count: Vec::new(),
        })
    }

    /// Reserves room for `additional` more customers pushed with explicit profiles
    /// (`additional · T` values each of `θ`/`w` and `κ`/`s`, and the per-customer arrays),
    /// or [`ShapingError::TooLarge`] naming `field` when `additional · T` overflows or cannot
    /// be allocated (a builder never aborts on a huge count such as `count = 1e12`).
    pub fn try_reserve(&mut self, additional: usize, field: &str) -> Result<(), ShapingError> {
        let too_large = || ShapingError::TooLarge {
            field: field.into(),
            count: additional as f64,
            bytes: (additional as u64)
                .saturating_mul(self.periods as u64)
                .saturating_mul(16),
        };
        let values = additional.checked_mul(self.periods).ok_or_else(too_large)?;
        self.a.try_reserve(values).map_err(|_| too_large())?;
        self.b.try_reserve(values).map_err(|_| too_large())?;
        self.try_reserve_rows(additional, field)
    }

    /// Reserves room for `additional` more customers derived from class profiles
    /// ([`Customers::push_variant`]: the per-customer arrays only, `O(1)` per customer),
    /// or [`ShapingError::TooLarge`] naming `field`.
    pub fn try_reserve_rows(&mut self, additional: usize, field: &str) -> Result<(), ShapingError> {
        let too_large = || ShapingError::TooLarge {
            field: field.into(),
            count: additional as f64,
            bytes: (additional as u64).saturating_mul(BYTES_PER_ROW),
        };
        self.kind.try_reserve(additional).map_err(|_| too_large())?;
        self.alpha
            .try_reserve(additional)
            .map_err(|_| too_large())?;
        self.rows.try_reserve(additional).map_err(|_| too_large())?;
        self.min_energy
            .try_reserve(additional)
            .map_err(|_| too_large())?;
        self.max_energy
            .try_reserve(additional)
            .map_err(|_| too_large())?;
        self.count
            .try_reserve(additional)
            .map_err(|_| too_large())?;
        Ok(())
    }

    fn push_raw(
        &mut self,
        kind: UtilityKind,
        a: &[f64],
        b: &[f64],
        min_energy: f64,
        max_energy: f64,
    ) -> usize {
        let i = self.kind.len();
        self.kind.push(kind);
        self.rows.push(Row {
            start: self.a.len(),
            fa: 1.0,
            fb: 1.0,
        });
        self.a.extend_from_slice(a);
        self.b.extend_from_slice(b);
        self.alpha.push(0.0);
        self.min_energy.push(min_energy);
        self.max_energy.push(max_energy);
        self.count.push(1);
        i
    }

    /// Adds a customer with quadratic utility `U(q, t) = θ_t q − ½ κ_t q²` and daily energy
    /// bounds `min_energy ≤ Σ_t q(t) ≤ max_energy` (`max_energy` may be `+∞`). Returns its
    /// index. Errors name `customers[i].theta[t]`, `customers[i].kappa[t]` (must be > 0:
    /// strictly concave), `customers[i].min_energy`, `customers[i].max_energy`.
    pub fn push_quadratic(
        &mut self,
        theta: &[f64],
        kappa: &[f64],
        min_energy: f64,
        max_energy: f64,
    ) -> Result<usize, ShapingError> {
        let prefix = format!("customers[{}].", self.kind.len());
        let check = || -> Result<(), ShapingError> {
            check_profile("theta", theta, self.periods, false)?;
            check_profile("kappa", kappa, self.periods, true)?;
            check_energy(min_energy, max_energy)
        };
        check().map_err(|e| e.prefixed(&prefix))?;
        Ok(self.push_raw(UtilityKind::Quadratic, theta, kappa, min_energy, max_energy))
    }

    /// Adds a customer with log utility `U(q, t) = w_t ln(s_t + q)` (`w_t > 0`, `s_t > 0`)
    /// and daily energy bounds. Errors name `customers[i].weight[t]`,
    /// `customers[i].shift[t]`, `customers[i].min_energy`, `customers[i].max_energy`.
    pub fn push_log(
        &mut self,
        weight: &[f64],
        shift: &[f64],
        min_energy: f64,
        max_energy: f64,
    ) -> Result<usize, ShapingError> {
        let prefix = format!("customers[{}].", self.kind.len());
        let check = || -> Result<(), ShapingError> {
            check_profile("weight", weight, self.periods, true)?;
            check_profile("shift", shift, self.periods, true)?;
            check_energy(min_energy, max_energy)
        };
        check().map_err(|e| e.prefixed(&prefix))?;
        Ok(self.push_raw(UtilityKind::Log, weight, shift, min_energy, max_energy))
    }

    /// Adds a customer with the power utility `U(q, t) = w_t (s_t + q)^α` (`w_t > 0`,
    /// `s_t > 0`, `0 < α < 1`; see [`Utility::Power`]). Errors name
    /// `customers[i].weight[t]`, `customers[i].shift[t]`, `customers[i].alpha` and the
    /// energy bounds.
    pub fn push_power(
        &mut self,
        weight: &[f64],
        shift: &[f64],
        alpha: f64,
        min_energy: f64,
        max_energy: f64,
    ) -> Result<usize, ShapingError> {
        let prefix = format!("customers[{}].", self.kind.len());
        let check = || -> Result<(), ShapingError> {
            check_profile("weight", weight, self.periods, true)?;
            check_profile("shift", shift, self.periods, true)?;
            check_alpha(alpha)?;
            check_energy(min_energy, max_energy)
        };
        check().map_err(|e| e.prefixed(&prefix))?;
        let i = self.push_raw(UtilityKind::Power, weight, shift, min_energy, max_energy);
        self.alpha[i] = alpha;
        Ok(i)
    }

    /// Adds a customer whose utility is user-supplied: `disutility[t]` is the convex
    /// `−U(·, t)` (e.g. a [`dr_convex::ClosureConvex`]). Its domain must contain `q = 0`;
    /// convexity (`f'` non-decreasing, `f'' > 0`: strictly concave utility) is sampled at 64
    /// points of `[0, probe]`, `probe = max_energy` if finite, else `max(1, 10 min_energy)`.
    /// Errors name `customers[i].disutility[t]` (and its sample point) or the energy bounds.
    pub fn push_custom(
        &mut self,
        disutility: Vec<Arc<dyn ConvexScalar>>,
        min_energy: f64,
        max_energy: f64,
    ) -> Result<usize, ShapingError> {
        let i = self.kind.len();
        let prefix = format!("customers[{i}].");
        let check = || -> Result<(), ShapingError> {
            if disutility.len() != self.periods {
                return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: "disutility".into(),
                    expected: self.periods,
                    got: disutility.len(),
                }));
            }
            check_energy(min_energy, max_energy)?;
            let probe = if max_energy.is_finite() {
                max_energy.max(1e-9)
            } else {
                (10.0 * min_energy).max(1.0)
            };
            for (t, f) in disutility.iter().enumerate() {
                check_convex_piece(&**f, probe, true)
                    .map_err(|e| e.prefixed(&format!("disutility[{t}]")))?;
            }
            Ok(())
        };
        check().map_err(|e| e.prefixed(&prefix))?;
        // A custom row stores no profile values: its start indexes `custom`.
        let idx = self.push_raw(UtilityKind::Custom, &[], &[], min_energy, max_energy);
        self.rows[idx].start = self.custom.len();
        self.custom.extend(disutility);
        Ok(idx)
    }

    /// Stores a class's base profiles once (`first` = `θ⁰` or `w⁰`, `second` = `κ⁰` or `s⁰`,
    /// `T` values each; `alpha` the exponent of a power utility, ignored otherwise) for
    /// [`Customers::push_variant`], which derives the class's jittered customers from them
    /// (chen-li-low-doyle-2010 §IV-A) in `O(1)` memory each. The values are checked when a
    /// customer is pushed (errors name that customer). Errors name `kind` (custom utilities
    /// have no profile), `theta`/`kappa` or `weight`/`shift` (length, a non-finite value)
    /// and `alpha`.
    pub fn add_class_profile(
        &mut self,
        kind: UtilityKind,
        first: &[f64],
        second: &[f64],
        alpha: f64,
    ) -> Result<ClassProfile, ShapingError> {
        let names = match kind {
            UtilityKind::Quadratic => ("theta", "kappa"),
            UtilityKind::Log | UtilityKind::Power => ("weight", "shift"),
            UtilityKind::Custom => {
                return Err(ShapingError::Input(dr_convex::InputError::Invalid {
                    field: "kind".into(),
                    message: "a custom utility has no class profile (push_custom)".into(),
                }))
            }
        };
        check_profile(names.0, first, self.periods, false)?;
        check_profile(names.1, second, self.periods, false)?;
        let alpha = if kind == UtilityKind::Power {
            check_alpha(alpha)?;
            alpha
        } else {
            0.0
        };
        let start = self.a.len();
        for _ in 0..2 {
            self.a.extend_from_slice(first);
            self.b.extend_from_slice(second);
        }
        Ok(ClassProfile {
            start,
            periods: self.periods,
            kind,
            alpha,
        })
    }

    /// Adds a customer of a class stored with [`Customers::add_class_profile`]: its
    /// parameters are the class profile rotated by `variant.shift` periods and scaled by
    /// the variant's factors, `θ_t = θ⁰_{(t − shift) mod T} · first_factor` (likewise `κ`,
    /// `w`, `s`; chen-li-low-doyle-2010 §IV-A), computed on access with exactly this
    /// expression, so every value equals that of pushing the scaled profiles explicitly
    /// ([`Customers::push_quadratic`], [`Customers::push_log`], [`Customers::push_power`]),
    /// bit for bit. The values are checked as those methods check them; errors name
    /// `customers[i].theta[t]` (etc.), `customers[i].min_energy`,
    /// `customers[i].max_energy`, or `profile` (not a profile of this population).
    pub fn push_variant(
        &mut self,
        profile: ClassProfile,
        variant: Variant,
        min_energy: f64,
        max_energy: f64,
    ) -> Result<usize, ShapingError> {
        let periods = self.periods;
        if profile.periods != periods
            || profile
                .start
                .checked_add(2 * periods)
                .is_none_or(|end| end > self.a.len())
        {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "profile".into(),
                value: profile.start as f64,
                requirement: "must be a class profile of this population".into(),
            }));
        }
        // Period t reads the class's period (t − shift) mod T = (T − s + t) mod T with
        // s = shift mod T: the doubled profile's slice from T − s ∈ (0, T].
        let s = variant.shift.rem_euclid(periods as i64) as usize;
        let start = profile.start + periods - s;
        let (fa, fb) = (variant.first_factor, variant.second_factor);
        let (a, b) = (
            &self.a[start..start + periods],
            &self.b[start..start + periods],
        );
        let check = || -> Result<(), ShapingError> {
            let names = match profile.kind {
                UtilityKind::Quadratic => ("theta", "kappa", false),
                _ => ("weight", "shift", true),
            };
            check_values(names.0, a.iter().map(|&x| x * fa), names.2)?;
            check_values(names.1, b.iter().map(|&x| x * fb), true)?;
            check_energy(min_energy, max_energy)
        };
        // The field prefix is formatted only for an error (no allocation per customer).
        check().map_err(|e| e.prefixed(&format!("customers[{}].", self.kind.len())))?;
        let i = self.kind.len();
        self.kind.push(profile.kind);
        self.rows.push(Row { start, fa, fb });
        self.alpha.push(profile.alpha);
        self.min_energy.push(min_energy);
        self.max_energy.push(max_energy);
        self.count.push(1);
        Ok(i)
    }

    /// A population of `N` quadratic-utility customers from flat customer-major `N × T`
    /// arrays `theta`, `kappa` and per-customer energy bounds (the bulk constructor for
    /// large populations). Errors name `theta[i·T + t]`-style fields as
    /// `customers[i].theta[t]`.
    pub fn quadratic_population(
        periods: usize,
        theta: Vec<f64>,
        kappa: Vec<f64>,
        min_energy: Vec<f64>,
        max_energy: Vec<f64>,
    ) -> Result<Self, ShapingError> {
        let mut c = Self::new(periods)?;
        let n = min_energy.len();
        if n == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "customers".into(),
            }));
        }
        for (name, len, expected) in [
            ("theta", theta.len(), n * periods),
            ("kappa", kappa.len(), n * periods),
            ("max_energy", max_energy.len(), n),
        ] {
            if len != expected {
                return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: name.into(),
                    expected,
                    got: len,
                }));
            }
        }
        for i in 0..n {
            let r = i * periods..(i + 1) * periods;
            let check = || -> Result<(), ShapingError> {
                check_profile("theta", &theta[r.clone()], periods, false)?;
                check_profile("kappa", &kappa[r.clone()], periods, true)?;
                check_energy(min_energy[i], max_energy[i])
            };
            check().map_err(|e| e.prefixed(&format!("customers[{i}].")))?;
        }
        c.kind = vec![UtilityKind::Quadratic; n];
        c.a = theta;
        c.b = kappa;
        c.rows = (0..n)
            .map(|i| Row {
                start: i * periods,
                fa: 1.0,
                fb: 1.0,
            })
            .collect();
        c.alpha = vec![0.0; n];
        c.min_energy = min_energy;
        c.max_energy = max_energy;
        c.count = vec![1; n];
        Ok(c)
    }

    /// Makes row `row` stand for `count ≥ 1` identical customers (a class without jitter):
    /// every solver then computes that customer's response once and weights it by `count`
    /// in every sum over customers (the total load `Q(t)`, the dual function, welfare).
    /// This is exact, not an approximation: the equilibria are unique and symmetric (see
    /// [`crate::competitive_equilibrium`] and [`crate::strategic_equilibrium`]), so identical
    /// customers draw identical loads. Errors name `row` (out of range) or `count` (0).
    pub fn set_count(&mut self, row: usize, count: usize) -> Result<(), ShapingError> {
        if row >= self.len() {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "row".into(),
                value: row as f64,
                requirement: "must be < the number of rows".into(),
            }));
        }
        if count == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: format!("customers[{row}].count"),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        self.count[row] = count;
        Ok(())
    }

    /// Number of rows: distinct customers, each standing for [`Customers::count`] identical
    /// customers (one each unless [`Customers::set_count`] grouped them). Every per-customer
    /// array of this crate (loads, multipliers, gains) has one entry per row.
    pub fn len(&self) -> usize {
        self.kind.len()
    }
    /// True when there are no customers.
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }
    /// How many identical customers row `i` stands for (0 out of range).
    pub fn count(&self, i: usize) -> usize {
        self.count.get(i).copied().unwrap_or(0)
    }
    /// The customers per row.
    pub fn counts(&self) -> &[usize] {
        &self.count
    }
    /// True when some row stands for more than one customer.
    pub fn is_grouped(&self) -> bool {
        self.count.iter().any(|&c| c != 1)
    }
    /// Number of customers `N = Σ_rows count` (saturating).
    pub fn population(&self) -> usize {
        self.count.iter().fold(0usize, |a, &c| a.saturating_add(c))
    }
    /// `Σ_rows count · per_row[row]`: a per-row quantity summed over the customers (each
    /// row counted for the identical customers it stands for), in row order; e.g. the
    /// population's total minimum daily energy `Σ_i Q_i` (eq. 27) from
    /// [`Customers::min_energy`].
    pub(crate) fn population_total(&self, per_row: &[f64]) -> f64 {
        per_row
            .iter()
            .zip(&self.count)
            .map(|(&x, &m)| m as f64 * x)
            .sum()
    }
    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// The kind of customer `i`'s utility.
    pub fn kind(&self, i: usize) -> Option<UtilityKind> {
        self.kind.get(i).copied()
    }
    /// Customer `i`'s utility, period by period (an owned copy of its parameters; see
    /// [`Customers::profiles`] for a view without allocation).
    pub fn utility(&self, i: usize) -> Option<Utility> {
        let kind = *self.kind.get(i)?;
        if kind == UtilityKind::Custom {
            let s = self.rows[i].start;
            return Some(Utility::Custom(self.custom[s..s + self.periods].to_vec()));
        }
        let (a, b) = self.profiles(i)?;
        let (a, b) = (a.to_vec(), b.to_vec());
        Some(match kind {
            UtilityKind::Quadratic => Utility::Quadratic { theta: a, kappa: b },
            UtilityKind::Log => Utility::Log {
                weight: a,
                shift: b,
            },
            _ => Utility::Power {
                weight: a,
                shift: b,
                alpha: self.alpha[i],
            },
        })
    }
    /// Views of customer `i`'s two per-period parameters (`θ`, `κ` for a quadratic utility;
    /// `w`, `s` for log and power utilities; chen-li-low-doyle-2010 §IV-A), without
    /// allocation; `None` for a custom utility or an index out of range.
    #[inline]
    pub fn profiles(&self, i: usize) -> Option<(Profile<'_>, Profile<'_>)> {
        if *self.kind.get(i)? == UtilityKind::Custom {
            return None;
        }
        let row = self.rows[i];
        let r = row.start..row.start + self.periods;
        Some((
            Profile {
                values: &self.a[r.clone()],
                factor: row.fa,
            },
            Profile {
                values: &self.b[r],
                factor: row.fb,
            },
        ))
    }
    /// The exponent `α` of customer `i`'s power utility `w (s + q)^α` (chen-li-low-doyle-2010
    /// §IV-A; 0 for other kinds and out of range).
    pub fn alpha(&self, i: usize) -> f64 {
        self.alpha.get(i).copied().unwrap_or(0.0)
    }
    /// Minimum daily energies `Q_i` (eq. 27).
    pub fn min_energy(&self) -> &[f64] {
        &self.min_energy
    }
    /// Maximum daily energies `Q̄_i` (eq. 28; may be `+∞`).
    pub fn max_energy(&self) -> &[f64] {
        &self.max_energy
    }
    /// True when every customer has a quadratic utility.
    pub fn all_quadratic(&self) -> bool {
        self.kind.iter().all(|&k| k == UtilityKind::Quadratic)
    }

    /// Period `t`'s disutility piece of customer `i` (indices assumed valid).
    #[inline]
    pub(crate) fn piece(&self, i: usize, t: usize) -> Piece<'_> {
        let row = self.rows[i];
        let k = row.start + t;
        match self.kind[i] {
            UtilityKind::Quadratic => Piece::Quadratic {
                theta: self.a[k] * row.fa,
                kappa: self.b[k] * row.fb,
            },
            UtilityKind::Log => Piece::Log {
                weight: self.a[k] * row.fa,
                shift: self.b[k] * row.fb,
            },
            UtilityKind::Power => Piece::Power(PowerUtility {
                weight: self.a[k] * row.fa,
                shift: self.b[k] * row.fb,
                alpha: self.alpha[i],
            }),
            UtilityKind::Custom => Piece::Custom(&*self.custom[k]),
        }
    }

    /// `U_i(q, t)` (`NaN` for out-of-range indices).
    pub fn utility_value(&self, i: usize, t: usize, q: f64) -> f64 {
        if i >= self.len() || t >= self.periods {
            return f64::NAN;
        }
        -self.piece(i, t).value(q, 0.0)
    }
    /// Marginal utility `U_i'(q, t)` (`NaN` for out-of-range indices).
    pub fn marginal_utility(&self, i: usize, t: usize, q: f64) -> f64 {
        if i >= self.len() || t >= self.periods {
            return f64::NAN;
        }
        -self.piece(i, t).derivative(q, 0.0)
    }
    /// The disutility piece `−U_i(·, t)` as a shared [`ConvexScalar`] (for the kernel's
    /// general solvers).
    pub fn disutility(&self, i: usize, t: usize) -> Option<Arc<dyn ConvexScalar>> {
        if i >= self.len() || t >= self.periods {
            return None;
        }
        Some(match self.piece(i, t) {
            Piece::Quadratic { theta, kappa } => {
                Arc::new(dr_convex::QuadraticUtility { theta, kappa })
            }
            Piece::Log { weight, shift } => Arc::new(dr_convex::LogUtility { weight, shift }),
            Piece::Power(f) => Arc::new(f),
            Piece::Custom(_) => self.custom[self.rows[i].start + t].clone(),
        })
    }
}

/// Samples a user-supplied convex piece on `[0, probe]`: finite derivative at 0 (0 inside
/// the domain), non-decreasing derivative and (when `strict`) positive curvature.
fn check_convex_piece(f: &dyn ConvexScalar, probe: f64, strict: bool) -> Result<(), ShapingError> {
    let (lo, hi) = f.domain();
    if !(lo < 0.0 && hi > 0.0) {
        return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
            field: ".domain".into(),
            value: if lo >= 0.0 { lo } else { hi },
            requirement: "must contain 0 in its interior".into(),
        }));
    }
    let samples = 64;
    let top = probe.min(hi);
    let mut prev = f64::NEG_INFINITY;
    for k in 0..samples {
        let x = top * k as f64 / (samples - 1) as f64;
        let x = if x >= hi {
            0.5 * (x + top * (1.0 - 1e-9))
        } else {
            x
        };
        let d = f.derivative(x);
        let c = f.second_derivative(x);
        let v = f.value(x);
        dr_convex::check_finite(|| format!(".value({x})"), v)?;
        dr_convex::check_finite(|| format!(".derivative({x})"), d)?;
        let curvature_ok = if strict { c > 0.0 } else { c >= 0.0 };
        if !curvature_ok || !c.is_finite() {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: format!(".second_derivative({x})"),
                value: c,
                requirement: if strict {
                    "must be > 0 (strictly convex; the utility must be strictly concave)"
                } else {
                    "must be >= 0 (convex)"
                }
                .into(),
            }));
        }
        if d < prev - 1e-12 * (d.abs() + prev.abs()) {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: format!(".derivative({x})"),
                value: d,
                requirement: "must be non-decreasing (convex)".into(),
            }));
        }
        prev = d;
    }
    Ok(())
}

/// The form of a [`SupplyCost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyForm {
    /// `½ c_t Q² + e_t Q`.
    Quadratic,
    /// `e_t Q + ½ c_t Q² + d_t Q³ + f_t Q⁴` ([`crate::PolynomialCost`]).
    Polynomial,
    /// A continuous piecewise-linear marginal cost ([`crate::PiecewiseQuadraticCost`]).
    PiecewiseQuadratic,
    /// User-supplied convex pieces.
    Custom,
}

/// Bytes per customer of a [`Customers`] besides its profile values (kind, profile start,
/// two factors, `α`, energy bounds, count), for reservations' error reports and
/// [`crate::ShapingScenario::memory_estimate`].
pub const BYTES_PER_ROW: u64 = 57;

/// The utility company's supply cost `C(Q, t)` per period (chen-li-low-doyle-2010 eq. 29).
#[derive(Clone)]
pub struct SupplyCost {
    periods: usize,
    /// `Some((c, e))` for `½ c_t Q² + e_t Q`.
    quadratic: Option<(Vec<f64>, Vec<f64>)>,
    custom: Vec<Arc<dyn ConvexScalar>>,
    form: SupplyForm,
}

impl fmt::Debug for SupplyCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.quadratic {
            Some((c, e)) => f
                .debug_struct("SupplyCost::Quadratic")
                .field("curvature", c)
                .field("linear", e)
                .finish(),
            None => f
                .debug_struct("SupplyCost::Custom")
                .field("periods", &self.periods)
                .finish_non_exhaustive(),
        }
    }
}

impl SupplyCost {
    /// Quadratic cost `C(Q, t) = ½ c_t Q² + e_t Q` with curvature `c_t > 0` and linear
    /// coefficient `e_t ≥ 0` (strictly convex, positive increasing marginal cost `c_t Q + e_t`).
    /// Errors name `supply.curvature[t]`, `supply.linear[t]`.
    pub fn quadratic(curvature: Vec<f64>, linear: Vec<f64>) -> Result<Self, ShapingError> {
        let periods = curvature.len();
        if periods == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "supply.curvature".into(),
            }));
        }
        if linear.len() != periods {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "supply.linear".into(),
                expected: periods,
                got: linear.len(),
            }));
        }
        for t in 0..periods {
            dr_convex::check_positive(|| format!("supply.curvature[{t}]"), curvature[t])?;
            dr_convex::check_nonnegative(|| format!("supply.linear[{t}]"), linear[t])?;
        }
        Ok(Self {
            periods,
            quadratic: Some((curvature, linear)),
            custom: Vec::new(),
            form: SupplyForm::Quadratic,
        })
    }

    /// The per-period polynomial cost `C(Q, t) = e_t Q + ½ c_t Q² + d_t Q³ + f_t Q⁴`
    /// ([`crate::PolynomialCost`]: strictly convex with `c_t > 0`, `e_t, d_t, f_t ≥ 0`).
    /// When every `d_t` and `f_t` is 0 it is the quadratic cost ([`SupplyCost::quadratic`],
    /// whose strategic equilibrium maximises a potential). Errors name
    /// `supply.curvature[t]`, `supply.linear[t]`, `supply.cubic[t]`, `supply.quartic[t]`.
    pub fn polynomial(
        curvature: Vec<f64>,
        linear: Vec<f64>,
        cubic: Vec<f64>,
        quartic: Vec<f64>,
    ) -> Result<Self, ShapingError> {
        let periods = curvature.len();
        for (name, v) in [("supply.cubic", &cubic), ("supply.quartic", &quartic)] {
            if v.len() != periods {
                return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: name.into(),
                    expected: periods,
                    got: v.len(),
                }));
            }
            for (t, &x) in v.iter().enumerate() {
                dr_convex::check_nonnegative(|| format!("{name}[{t}]"), x)?;
            }
        }
        let quadratic = Self::quadratic(curvature, linear)?;
        if cubic.iter().chain(&quartic).all(|&x| x == 0.0) {
            return Ok(quadratic);
        }
        let (c, e) = quadratic.as_quadratic().unwrap_or((&[], &[]));
        let custom = (0..periods)
            .map(|t| {
                Arc::new(crate::supply::PolynomialCost {
                    linear: e[t],
                    curvature: c[t],
                    cubic: cubic[t],
                    quartic: quartic[t],
                }) as Arc<dyn ConvexScalar>
            })
            .collect();
        Ok(Self {
            periods,
            quadratic: None,
            custom,
            form: SupplyForm::Polynomial,
        })
    }

    /// The piecewise-quadratic cost ([`crate::PiecewiseQuadraticCost`]): in period `t` the
    /// marginal cost starts at `linear[t] = e_t ≥ 0` and rises with slope
    /// `piece_curvature[k][t] > 0`, nondecreasing in `k` (a convex marginal cost, so that a
    /// strategic customer's cost `q C'(Q_{−i} + q)` stays convex, Theorem 7), between the
    /// `breakpoints` `0 < B_1 < … < B_K` (the same in every period; `K + 1` pieces),
    /// continuous at each breakpoint. Errors name
    /// `supply.breakpoints[k]`, `supply.piece_curvature[k][t]`, `supply.linear[t]`.
    pub fn piecewise_quadratic(
        breakpoints: Vec<f64>,
        piece_curvature: Vec<Vec<f64>>,
        linear: Vec<f64>,
    ) -> Result<Self, ShapingError> {
        let periods = linear.len();
        if periods == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "supply.linear".into(),
            }));
        }
        for (k, &b) in breakpoints.iter().enumerate() {
            dr_convex::check_positive(|| format!("supply.breakpoints[{k}]"), b)?;
            if k > 0 && b <= breakpoints[k - 1] {
                return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("supply.breakpoints[{k}]"),
                    value: b,
                    requirement: format!(
                        "must be > supply.breakpoints[{}] = {} (increasing)",
                        k - 1,
                        breakpoints[k - 1]
                    )
                    .into(),
                }));
            }
        }
        if piece_curvature.len() != breakpoints.len() + 1 {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "supply.piece_curvature (one more piece than breakpoints)".into(),
                expected: breakpoints.len() + 1,
                got: piece_curvature.len(),
            }));
        }
        for (k, c) in piece_curvature.iter().enumerate() {
            if c.len() != periods {
                return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: format!("supply.piece_curvature[{k}]"),
                    expected: periods,
                    got: c.len(),
                }));
            }
            for (t, &x) in c.iter().enumerate() {
                dr_convex::check_positive(|| format!("supply.piece_curvature[{k}][{t}]"), x)?;
                // A convex marginal cost (nondecreasing slopes) keeps every strategic
                // customer's cost q C'(Q_{−i} + q) convex: Theorem 7's VI is monotone.
                if k > 0 && x < piece_curvature[k - 1][t] {
                    return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                        field: format!("supply.piece_curvature[{k}][{t}]"),
                        value: x,
                        requirement: format!(
                            "must be >= supply.piece_curvature[{}][{t}] = {} (the marginal \
                             cost's slope may not fall: a convex marginal cost keeps the \
                             strategic customers' problem convex)",
                            k - 1,
                            piece_curvature[k - 1][t]
                        )
                        .into(),
                    }));
                }
            }
        }
        for (t, &e) in linear.iter().enumerate() {
            dr_convex::check_nonnegative(|| format!("supply.linear[{t}]"), e)?;
        }
        let custom = (0..periods)
            .map(|t| {
                let c: Vec<f64> = piece_curvature.iter().map(|c| c[t]).collect();
                Arc::new(crate::supply::PiecewiseQuadraticCost::new(
                    linear[t],
                    &breakpoints,
                    &c,
                )) as Arc<dyn ConvexScalar>
            })
            .collect();
        Ok(Self {
            periods,
            quadratic: None,
            custom,
            form: SupplyForm::PiecewiseQuadratic,
        })
    }

    /// A user-supplied strictly convex cost per period (e.g. a [`dr_convex::ClosureConvex`]).
    /// Its domain must contain `Q = 0`; convexity is sampled at 64 points of `[0, probe]`.
    /// Errors name `supply.cost[t]`.
    pub fn custom(costs: Vec<Arc<dyn ConvexScalar>>, probe: f64) -> Result<Self, ShapingError> {
        if costs.is_empty() {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "supply.cost".into(),
            }));
        }
        dr_convex::check_positive(|| "probe".into(), probe)?;
        for (t, f) in costs.iter().enumerate() {
            check_convex_piece(&**f, probe, true)
                .map_err(|e| e.prefixed(&format!("supply.cost[{t}]")))?;
        }
        Ok(Self {
            periods: costs.len(),
            quadratic: None,
            custom: costs,
            form: SupplyForm::Custom,
        })
    }

    /// The cost's form.
    pub fn form(&self) -> SupplyForm {
        self.form
    }

    /// The cost's formula in words, for reports.
    pub fn describe(&self) -> String {
        match self.form {
            SupplyForm::Quadratic => "C(Q, t) = ½ c_t Q² + e_t Q".into(),
            SupplyForm::Polynomial => {
                "C(Q, t) = e_t Q + ½ c_t Q² + d_t Q³ + f_t Q⁴ (polynomial)".into()
            }
            SupplyForm::PiecewiseQuadratic => "C(Q, t) piecewise quadratic: marginal cost e_t at \
                                               0, slope c_{k,t} on piece k between breakpoints"
                .into(),
            SupplyForm::Custom => "C(Q, t) user-supplied (convex)".into(),
        }
    }

    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// `Some((c, e))` when the cost is `½ c_t Q² + e_t Q`.
    pub fn as_quadratic(&self) -> Option<(&[f64], &[f64])> {
        self.quadratic
            .as_ref()
            .map(|(c, e)| (c.as_slice(), e.as_slice()))
    }
    /// `C(Q, t)`.
    #[inline]
    pub fn value(&self, t: usize, q: f64) -> f64 {
        match &self.quadratic {
            Some((c, e)) => (0.5 * c[t] * q + e[t]) * q,
            None => self.custom[t].value(q),
        }
    }
    /// Marginal cost `C'(Q, t)`: the price the utility announces (eq. 30).
    #[inline]
    pub fn marginal(&self, t: usize, q: f64) -> f64 {
        match &self.quadratic {
            Some((c, e)) => c[t] * q + e[t],
            None => self.custom[t].derivative(q),
        }
    }
    /// `C''(Q, t)`.
    #[inline]
    pub fn curvature(&self, t: usize, q: f64) -> f64 {
        match &self.quadratic {
            Some((c, _)) => c[t],
            None => self.custom[t].second_derivative(q),
        }
    }
    /// The supply at price `p`, `S_t(p) = argmax_Q p Q − C(Q, t)`, and its slope `dS/dp`.
    #[inline]
    pub fn supply(&self, t: usize, p: f64) -> (f64, f64) {
        match &self.quadratic {
            Some((c, e)) => ((p - e[t]) / c[t], 1.0 / c[t]),
            None => {
                let f = &self.custom[t];
                let q = f.inverse_derivative(p, f64::NEG_INFINITY, f64::INFINITY);
                let (lo, hi) = f.domain();
                let k = f.second_derivative(q);
                let slope = if q > lo && q < hi && k > 0.0 && k.is_finite() {
                    1.0 / k
                } else {
                    0.0
                };
                (q, slope)
            }
        }
    }
    /// The cost piece of period `t` as a shared [`ConvexScalar`].
    pub fn piece(&self, t: usize) -> Option<Arc<dyn ConvexScalar>> {
        if t >= self.periods {
            return None;
        }
        Some(match &self.quadratic {
            Some((c, e)) => Arc::new(QuadraticSupply {
                curvature: c[t],
                linear: e[t],
            }),
            None => self.custom[t].clone(),
        })
    }
}

/// `½ c Q² + e Q` as a [`ConvexScalar`] (internal, for the kernel's general solvers).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuadraticSupply {
    pub(crate) curvature: f64,
    pub(crate) linear: f64,
}

impl ConvexScalar for QuadraticSupply {
    fn value(&self, x: f64) -> f64 {
        (0.5 * self.curvature * x + self.linear) * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.curvature * x + self.linear
    }
    fn second_derivative(&self, _x: f64) -> f64 {
        self.curvature
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        ((p - self.linear) / self.curvature).max(lo).min(hi)
    }
}

/// The demand-shaping market: customers and the utility company's supply cost over `T`
/// periods (chen-li-low-doyle-2010 §IV-A).
#[derive(Debug, Clone)]
pub struct ShapingModel {
    customers: Customers,
    supply: SupplyCost,
}

impl ShapingModel {
    /// Validated: at least one customer, and the supply cost has the customers' number of
    /// periods (error names `supply`).
    pub fn new(customers: Customers, supply: SupplyCost) -> Result<Self, ShapingError> {
        if customers.is_empty() {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "customers".into(),
            }));
        }
        if supply.periods() != customers.periods() {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "supply (number of periods)".into(),
                expected: customers.periods(),
                got: supply.periods(),
            }));
        }
        Ok(Self { customers, supply })
    }

    /// All-quadratic model from flat customer-major `N × T` arrays (see
    /// [`Customers::quadratic_population`]) and a quadratic supply cost.
    pub fn quadratic(
        periods: usize,
        theta: Vec<f64>,
        kappa: Vec<f64>,
        min_energy: Vec<f64>,
        max_energy: Vec<f64>,
        curvature: Vec<f64>,
        linear: Vec<f64>,
    ) -> Result<Self, ShapingError> {
        let customers =
            Customers::quadratic_population(periods, theta, kappa, min_energy, max_energy)?;
        let supply = SupplyCost::quadratic(curvature, linear)?;
        Self::new(customers, supply)
    }

    /// The customers.
    pub fn customers(&self) -> &Customers {
        &self.customers
    }
    /// The supply cost.
    pub fn supply(&self) -> &SupplyCost {
        &self.supply
    }
    /// Number of rows (distinct customers; see [`Customers::len`]). Equal to the number of
    /// customers unless rows were grouped ([`Customers::set_count`]).
    pub fn len(&self) -> usize {
        self.customers.len()
    }
    /// Number of customers `N` (every row counted with its multiplicity).
    pub fn population(&self) -> usize {
        self.customers.population()
    }
    /// Always false (a model has at least one customer).
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.customers.periods()
    }
}
