//! Supply costs other than `½ c Q² + e Q` and the power utility, from scenario files
//! (issue 15; chen-li-low-doyle-2010 §IV: `C(Q, t)` strictly convex with an increasing
//! marginal cost, `U_i` strictly concave and increasing). Every expected value is derived by
//! hand from the first-order conditions:
//! - welfare optimum (Theorem 6): `U_i'(x_i) = C'(X)`, `X = Σ_i x_i`;
//! - Nash equilibrium (Theorem 7): `U_i'(x_i) = C'(X) + x_i C''(X)`.

use dr_shaping::*;

fn scenario(text: &str) -> ShapingScenario {
    toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

/// One period, two quadratic customers `U_i = θ_i x − ½ κ_i x²`, and the `[supply]` table.
fn two_customers(supply: &str, theta: [f64; 2], kappa: [f64; 2]) -> ShapingModel {
    scenario(&format!(
        "periods = 1\n[supply]\n{supply}\n\
         [[customers]]\nutility = \"quadratic\"\ntheta = {}\nkappa = {}\n\
         [[customers]]\nutility = \"quadratic\"\ntheta = {}\nkappa = {}\n",
        theta[0], kappa[0], theta[1], kappa[1]
    ))
    .to_model()
    .unwrap_or_else(|e| panic!("{e}"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(a.abs())
}

fn assert_equilibrium(eq: &Equilibrium, loads: &[f64], price: f64) {
    for (i, &x) in loads.iter().enumerate() {
        assert!(
            close(eq.loads.get(i, 0), x, 1e-9),
            "{:?} load {i}: {} vs hand {x}",
            eq.behaviour,
            eq.loads.get(i, 0)
        );
    }
    assert!(
        close(eq.prices[0], price, 1e-9),
        "{:?} price {} vs hand {price}",
        eq.behaviour,
        eq.prices[0]
    );
    assert!(
        eq.certificate.holds(1e-8),
        "{:?}: {:?}",
        eq.behaviour,
        eq.certificate
    );
}

#[test]
fn cubic_cost_welfare_optimum_by_hand() {
    // C(Q) = Q + ½ Q² + Q³: C'(Q) = 1 + Q + 3Q², C'(2) = 15. U_1' = 16 − x, U_2' = 17 − 2x
    // equal 15 at x = (1, 1), whose sum is 2.
    let model = two_customers(
        "linear = 1.0\ncurvature = 1.0\ncubic = 1.0",
        [16.0, 17.0],
        [1.0, 2.0],
    );
    assert_eq!(model.supply().form(), SupplyForm::Polynomial);
    let ce = competitive_equilibrium(&model).unwrap();
    assert_equilibrium(&ce, &[1.0, 1.0], 15.0);
    // The welfare at the optimum, by hand: U_1 = 16 − ½ = 15.5, U_2 = 17 − 1 = 16,
    // C(2) = 2 + 2 + 8 = 12.
    assert!(
        close(ce.welfare, 15.5 + 16.0 - 12.0, 1e-12),
        "{}",
        ce.welfare
    );
    // The kernel's interior-point method on the same problem agrees.
    let ipm = competitive_equilibrium_ipm(&model, &IpmSettings::default()).unwrap();
    assert!(close(ipm.prices[0], 15.0, 1e-7), "{:?}", ipm.prices);
}

#[test]
fn cubic_cost_nash_equilibrium_by_hand() {
    // C'' (Q) = 1 + 6Q: at X = 2, C' = 15, C'' = 13. U_1' = 29 − x, U_2' = 30 − 2x:
    // 29 − 1 = 15 + 1·13 and 30 − 2 = 15 + 13 at x = (1, 1).
    let model = two_customers(
        "linear = 1.0\ncurvature = 1.0\ncubic = 1.0",
        [29.0, 30.0],
        [1.0, 2.0],
    );
    let ne = strategic_equilibrium(&model).unwrap();
    assert_eq!(
        ne.method,
        Method::Newton,
        "no potential: the price Newton in the own-impact fixed point"
    );
    assert_equilibrium(&ne, &[1.0, 1.0], 15.0);
    let gain = nash_gain(&model, &ne.loads).unwrap();
    assert!(gain.max_relative_gain <= 1e-9, "{gain:?}");
    // Price-taking customers draw more (U' = p): 29 − x1 = 30 − 2 x2 = 1 + X + 3X² has
    // X > 2, and the competitive welfare is larger (Theorem 6).
    let ce = competitive_equilibrium(&model).unwrap();
    assert!(ce.total_load[0] > 2.0 && ce.welfare >= ne.welfare);
}

#[test]
fn quartic_cost_by_hand() {
    // C(Q) = Q² + Q⁴ (curvature 2, quartic 1): C'(1) = 2 + 4 = 6. U' = 7 − x = 6 at x = 1.
    let text = "periods = 1\n[supply]\ncurvature = 2.0\nquartic = 1.0\n\
                [[customers]]\nutility = \"quadratic\"\ntheta = 7.0\nkappa = 1.0\n";
    let model = scenario(text).to_model().unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    assert_equilibrium(&ce, &[1.0], 6.0);
    // One strategic customer (a monopsonist) solves U'(x) = C'(x) + x C''(x) = 4x + 16x³:
    // with θ = 4.5, 4.5 − x = 4x + 16x³ holds at x = ½, where p = C'(½) = 1 + ½ = 1.5.
    let model = scenario(&text.replace("theta = 7.0", "theta = 4.5"))
        .to_model()
        .unwrap();
    let ne = strategic_equilibrium(&model).unwrap();
    assert_equilibrium(&ne, &[0.5], 1.5);
}

#[test]
fn all_zero_higher_coefficients_are_the_quadratic_cost() {
    let model = two_customers(
        "curvature = 1.0\ncubic = 0.0\nquartic = 0",
        [3.0, 4.0],
        [1.0, 1.0],
    );
    assert_eq!(model.supply().form(), SupplyForm::Quadratic);
    assert!(model.supply().as_quadratic().is_some());
}

#[test]
fn piecewise_quadratic_cost_aggregate_on_a_breakpoint() {
    // e = 1, B_1 = 2, slopes 1 then 3: C'(Q) = 1 + Q below 2, 3 + 3 (Q − 2) above.
    // U_1' = 4 − x, U_2' = 5 − 2x equal 3 at x = (1, 1): X = 2 = B_1 exactly.
    let supply = "linear = 1.0\nbreakpoints = [2.0]\npiece_curvature = [1.0, 3.0]";
    let model = two_customers(supply, [4.0, 5.0], [1.0, 2.0]);
    assert_eq!(model.supply().form(), SupplyForm::PiecewiseQuadratic);
    let ce = competitive_equilibrium(&model).unwrap();
    assert_equilibrium(&ce, &[1.0, 1.0], 3.0);
    // C(2) = 2 + ½·4 = 4; U_1 = 4 − ½ = 3.5, U_2 = 5 − 1 = 4.
    assert!(close(ce.welfare, 3.5 + 4.0 - 4.0, 1e-12), "{}", ce.welfare);
    let ipm = competitive_equilibrium_ipm(&model, &IpmSettings::default()).unwrap();
    assert!(close(ipm.prices[0], 3.0, 1e-6), "{:?}", ipm.prices);
}

#[test]
fn piecewise_quadratic_cost_above_the_breakpoint_both_equilibria() {
    let supply = "linear = 1.0\nbreakpoints = [2.0]\npiece_curvature = [1.0, 3.0]";
    // Welfare: C'(4) = 3 + 6 = 9; U_1' = 11 − x, U_2' = 13 − 2x equal 9 at x = (2, 2).
    let model = two_customers(supply, [11.0, 13.0], [1.0, 2.0]);
    assert_equilibrium(&competitive_equilibrium(&model).unwrap(), &[2.0, 2.0], 9.0);
    // Nash: at X = 4, C' = 9 and C'' = 3: U_1' = 17 − x = 9 + 2·3, U_2' = 19 − 2x = 9 + 6.
    let model = two_customers(supply, [17.0, 19.0], [1.0, 2.0]);
    let ne = strategic_equilibrium(&model).unwrap();
    assert_equilibrium(&ne, &[2.0, 2.0], 9.0);
    assert!(nash_gain(&model, &ne.loads).unwrap().max_relative_gain <= 1e-9);
}

#[test]
fn power_utility_by_hand() {
    // U = 8 (1 + x)^½: U'(3) = ½ · 8 · 4^{−½} = 2; C' = ½ Q + ½ = 2 at Q = 3.
    let text = "periods = 1\n[supply]\ncurvature = 0.5\nlinear = 0.5\n\
                [[customers]]\nutility = \"power\"\nweight = 8.0\nshift = 1.0\nalpha = 0.5\n";
    let model = scenario(text).to_model().unwrap();
    assert_eq!(model.customers().kind(0), Some(UtilityKind::Power));
    let ce = competitive_equilibrium(&model).unwrap();
    assert_equilibrium(&ce, &[3.0], 2.0);
    assert!(close(
        model.customers().marginal_utility(0, 0, 3.0),
        2.0,
        1e-15
    ));
    // Strategic (quadratic supply: the potential path): U'(x) = C'(x) + x C'' =
    // ½ x + ½ + ½ x, i.e. 4 (1 + x)^{−½} = x + ½; check the first-order condition.
    let ne = strategic_equilibrium(&model).unwrap();
    let x = ne.loads.get(0, 0);
    let foc = 4.0 / (1.0 + x).sqrt() - (x + 0.5);
    assert!(foc.abs() <= 1e-9, "Nash FOC residual {foc} at x = {x}");
    assert!(ne.certificate.holds(1e-8), "{:?}", ne.certificate);
    let ipm = strategic_equilibrium_ipm(&model, &IpmSettings::default()).unwrap();
    assert!(close(ipm.loads.get(0, 0), x, 1e-6));
}

#[test]
fn a_day_with_every_new_form_solves_and_certifies() {
    // Three periods, power and quadratic customers with energy bounds, a cubic+quartic cost
    // (then a piecewise one): both equilibria certified, nobody gains by deviating.
    let customers = "[[customers]]\ncount = 3\nutility = \"power\"\nweight = [2.0, 3.0, 2.5]\n\
                     shift = 1.0\nalpha = 0.6\nmin_energy = 2.0\nmax_energy = 6.0\njitter = 0.2\n\
                     [[customers]]\ncount = 2\nutility = \"quadratic\"\ntheta = [1.0, 2.0, 1.5]\n\
                     kappa = 0.5\nmin_energy = 1.0\n";
    for supply in [
        "curvature = [0.1, 0.2, 0.1]\nlinear = 0.05\ncubic = [0.01, 0.02, 0.0]\nquartic = 0.001",
        "linear = 0.05\nbreakpoints = [2.0, 9.0]\npiece_curvature = [0.05, [0.1, 0.2, 0.1], 0.4]",
    ] {
        let file = scenario(&format!(
            "periods = 3\nseed = 5\n[supply]\n{supply}\n{customers}"
        ));
        let model = file.to_model().unwrap();
        let ce = competitive_equilibrium(&model).unwrap();
        let ne = strategic_equilibrium(&model).unwrap();
        assert!(ce.certificate.holds(1e-8), "{supply}: {:?}", ce.certificate);
        assert!(ne.certificate.holds(1e-8), "{supply}: {:?}", ne.certificate);
        assert!(nash_gain(&model, &ne.loads).unwrap().max_relative_gain <= 1e-8);
        assert!(ce.welfare >= ne.welfare - 1e-9 * ce.welfare.abs());
        for t in 0..3 {
            let m = model.supply().marginal(t, ce.total_load[t]);
            assert!(
                close(ce.prices[t], m, 1e-9),
                "{supply}: p({t}) = {} vs C' = {m}",
                ce.prices[t]
            );
        }
        // The typed report of `dr solve`: claims hold, the IPM agrees on the competitive
        // equilibrium, and no potential (no second path) for the strategic one.
        let report =
            solve_report(&model, &file.classes(), "inline", &SolveOptions::default()).unwrap();
        assert!(report.claims.iter().all(|c| c.holds), "{:?}", report.claims);
        assert_eq!(
            report.cross_check.verdict,
            Some(PathVerdict::Agrees),
            "{supply}"
        );
        assert!(!report.strategic.cross_check.performed);
        // It loads back from its JSON (serde_json's default float parser may differ from
        // the written shortest form by an ulp).
        let json = serde_json::to_string(&report).unwrap();
        let back: SolveReport = serde_json::from_str(&json).unwrap();
        let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| close(*x, *y, 1e-15));
        assert!(same(&back.competitive.prices, &report.competitive.prices));
        assert!(same(
            back.strategic.equilibrium.loads.as_slice(),
            report.strategic.equilibrium.loads.as_slice()
        ));
        assert_eq!(back.classes.len(), report.classes.len());
        for (a, b) in back.classes.iter().zip(&report.classes) {
            assert_eq!(
                (&a.name, &a.utility, a.count),
                (&b.name, &b.utility, b.count)
            );
            assert!(close(a.bill_strategic, b.bill_strategic, 1e-15));
        }
    }
}

/// A known limit, reported honestly: with breakpoints at 3 and 6 the Nash equilibrium's
/// total load sits exactly on the breakpoint 6 in period 0, where the marginal cost's slope
/// jumps, so the operator of eq. 44 (`q_i C''(Q)`) is set-valued there and the single-valued
/// VI solver does not converge. The certificate then does not claim Solved.
#[test]
fn a_nash_equilibrium_on_a_breakpoint_is_not_claimed_solved() {
    let text = "periods = 3\nseed = 5\n[supply]\nlinear = 0.05\nbreakpoints = [3.0, 6.0]\n\
                piece_curvature = [0.05, [0.1, 0.2, 0.1], 0.4]\n\
                [[customers]]\ncount = 3\nutility = \"power\"\nweight = [2.0, 3.0, 2.5]\n\
                shift = 1.0\nalpha = 0.6\nmin_energy = 2.0\nmax_energy = 6.0\njitter = 0.2\n\
                [[customers]]\ncount = 2\nutility = \"quadratic\"\ntheta = [1.0, 2.0, 1.5]\n\
                kappa = 0.5\nmin_energy = 1.0\n";
    let model = scenario(text).to_model().unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    assert!(ce.certificate.holds(1e-8), "{:?}", ce.certificate);
    let ne = strategic_equilibrium_vi(
        &model,
        &ViSettings {
            tolerance: 1e-10,
            max_iterations: 2000,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!ne.certificate.status.is_solved(), "{:?}", ne.certificate);
    assert!((ne.total_load[0] - 6.0).abs() < 1e-3, "{:?}", ne.total_load);
    // The default path (own-impact fixed point, VI fallback) does not claim it either.
    let default = strategic_equilibrium(&model).unwrap();
    assert!(
        !default.certificate.status.is_solved(),
        "{:?}",
        default.certificate
    );
}

#[test]
fn invalid_parameters_name_field_and_value() {
    let base = "periods = 2\n[[customers]]\nutility = \"quadratic\"\ntheta = 1.0\nkappa = 1.0\n";
    let err = |supply: &str| -> ShapingError {
        let text = format!("{base}[supply]\n{supply}\n");
        scenario(&text).to_model().unwrap_err()
    };
    let e = err("curvature = 1.0\ncubic = [0.0, -1.0]");
    assert_eq!(e.field(), "supply.cubic[1]");
    assert!(e.to_string().contains("-1"), "{e}");
    let e = err("curvature = 1.0\nquartic = nan");
    assert_eq!(e.field(), "supply.quartic[0]");
    assert!(e.to_string().to_lowercase().contains("nan"), "{e}");
    let e = err("breakpoints = [2.0, 1.0]\npiece_curvature = [1.0, 2.0, 3.0]");
    assert_eq!(e.field(), "supply.breakpoints[1]");
    let e = err("breakpoints = [-1.0]\npiece_curvature = [1.0, 2.0]");
    assert_eq!(e.field(), "supply.breakpoints[0]");
    let e = err("breakpoints = [2.0]\npiece_curvature = [1.0]");
    assert!(e.field().starts_with("supply.piece_curvature"), "{e}");
    let e = err("breakpoints = [2.0]\npiece_curvature = [1.0, [2.0, 0.0]]");
    assert_eq!(e.field(), "supply.piece_curvature[1][1]");
    let e = err("breakpoints = [2.0]\npiece_curvature = [3.0, 2.0]");
    assert_eq!(e.field(), "supply.piece_curvature[1][0]");
    assert!(e.to_string().contains('2'), "{e}");
    let e = err("breakpoints = [2.0]");
    assert_eq!(e.field(), "supply.piece_curvature");
    let e = err("piece_curvature = [1.0]");
    assert_eq!(e.field(), "supply.breakpoints");
    let e = err("curvature = 1.0\nbreakpoints = [2.0]\npiece_curvature = [1.0, 2.0]");
    assert_eq!(e.field(), "supply.curvature");
    let e = err("linear = 1.0");
    assert_eq!(e.field(), "supply.curvature");

    let supply = "[supply]\ncurvature = 1.0\n";
    let err = |customer: &str| -> ShapingError {
        scenario(&format!("periods = 2\n{supply}[[customers]]\n{customer}\n"))
            .to_model()
            .unwrap_err()
    };
    let e = err("utility = \"power\"\nweight = 1.0\nshift = 1.0\nalpha = 1.5");
    assert_eq!(e.field(), "customers[0].alpha");
    assert!(e.to_string().contains("1.5"), "{e}");
    let e = err("utility = \"power\"\nweight = 1.0\nshift = 1.0\nalpha = 0.0");
    assert_eq!(e.field(), "customers[0].alpha");
    let e = err("utility = \"power\"\nweight = 1.0\nshift = 1.0");
    assert_eq!(e.field(), "customers[0].alpha");
    let e = err("utility = \"power\"\nweight = 1.0\nshift = [1.0, -2.0]\nalpha = 0.5");
    assert_eq!(e.field(), "customers[0].shift[1]");
    let e = err("utility = \"quadratic\"\ntheta = 1.0\nkappa = 1.0\nalpha = 0.5");
    assert_eq!(e.field(), "customers[0].alpha");
}

/// The paper's gradient scheme (eqs. 41–42) on a polynomial cost: with every daily maximum
/// finite, `C''(Σ_i Q̄_i, t)` bounds the curvature the iterates can meet, so the default
/// step `1/L` (half the critical step) converges to the exact competitive equilibrium.
#[test]
fn gradient_scheme_converges_on_a_polynomial_cost_with_the_default_step() {
    let text = "periods = 3\nseed = 2\n[supply]\ncurvature = [0.1, 0.3, 0.2]\nlinear = 0.05\n\
                cubic = 0.01\nquartic = 0.001\n\
                [[customers]]\ncount = 4\nutility = \"quadratic\"\ntheta = [1.0, 2.0, 1.5]\n\
                kappa = 0.5\nmin_energy = 1.0\nmax_energy = 4.0\njitter = 0.2\n\
                [[customers]]\ncount = 2\nutility = \"power\"\nweight = 2.0\nshift = 1.0\n\
                alpha = 0.5\nmax_energy = 3.0\n";
    let model = scenario(text).to_model().unwrap();
    let critical = critical_step(&model, Behaviour::Competitive).expect("a bound is known");
    assert!(critical > 0.0 && critical.is_finite());
    assert!(critical_step(&model, Behaviour::Strategic).is_none());
    let run = simulate(&model, &SimulationSettings::default()).unwrap();
    assert_eq!(run.termination, Termination::Converged, "{run:?}");
    let exact = competitive_equilibrium(&model).unwrap();
    for (p, q) in run.prices.iter().zip(&exact.prices) {
        assert!((p - q).abs() <= 1e-6 * q.abs(), "{p} vs {q}");
    }
}
