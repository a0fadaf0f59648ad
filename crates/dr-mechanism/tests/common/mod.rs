//! Random instances shared by the integration tests.
#![allow(dead_code)]

use dr_mechanism::{Model, Network, User};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random community: `n` users, `t` periods, a mix of log and quadratic utilities,
/// per-user bounds, user totals, a community total, per-period caps and general rows
/// (all with `b ≥ 0`).
pub fn random_model(seed: u64, n: usize, t: usize) -> Model {
    random_model_in_units(seed, n, t, 1.0, 1.0)
}

/// [`random_model`] in other units: every utility and price in money units of `money`
/// (`v ↦ money·v`), every quantity in units of `sigma` (`x ↦ sigma·x`): log weights
/// `·money`, shifts `·sigma`; quadratic `θ ·money/sigma`, `κ ·money/sigma²`; prices
/// `·money/sigma`; bounds and right-hand sides `·sigma` (general-row coefficients unchanged).
/// The optimum is then `x·sigma`, `λ, μ ·money/sigma`, welfare `·money` up to a constant.
pub fn random_model_in_units(seed: u64, n: usize, t: usize, money: f64, sigma: f64) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let price_unit = money / sigma;
    let prices: Vec<f64> = (0..t)
        .map(|_| rng.gen_range(0.05..0.3) * price_unit)
        .collect();
    let p0 = if rng.gen_bool(0.5) {
        rng.gen_range(0.2..1.0)
    } else {
        rng.gen_range(1.0..4.0)
    } * price_unit;
    let mut b = Model::builder(prices, p0);
    for i in 0..n {
        let user = if rng.gen_bool(0.5) {
            let w: Vec<f64> = (0..t).map(|_| rng.gen_range(0.5..3.0) * money).collect();
            User::log(&w, rng.gen_range(0.5..2.0) * sigma)
        } else {
            let th: Vec<f64> = (0..t)
                .map(|_| rng.gen_range(0.5..3.0) * price_unit)
                .collect();
            let ka: Vec<f64> = (0..t)
                .map(|_| rng.gen_range(0.5..2.0) * price_unit / sigma)
                .collect();
            User::quadratic(&th, &ka)
        };
        b = b.user(user);
        if rng.gen_bool(0.5) {
            let up: Vec<f64> = (0..t)
                .map(|_| {
                    if rng.gen_bool(0.7) {
                        rng.gen_range(0.3..3.0) * sigma
                    } else {
                        f64::INFINITY
                    }
                })
                .collect();
            b = b.upper_bounds(i, &up);
        }
        if rng.gen_bool(0.4) {
            let lo: Vec<f64> = (0..t).map(|_| -rng.gen_range(0.0..0.4) * sigma).collect();
            b = b.lower_bounds(i, &lo);
        }
        if rng.gen_bool(0.3) {
            b = b.user_total(i, rng.gen_range(0.5..1.5) * t as f64 * sigma);
        }
    }
    if rng.gen_bool(0.5) {
        b = b.community_total(rng.gen_range(0.3..1.0) * (n * t) as f64 * sigma);
    }
    for period in 0..t {
        if rng.gen_bool(0.2) {
            b = b.community_cap(period, rng.gen_range(0.3..1.2) * n as f64 * sigma);
        }
    }
    for _ in 0..rng.gen_range(0..3) {
        let k = rng.gen_range(2..6);
        let entries: Vec<(usize, usize, f64)> = (0..k)
            .map(|_| {
                (
                    rng.gen_range(0..n),
                    rng.gen_range(0..t),
                    rng.gen_range(-1.0..1.0),
                )
            })
            .collect();
        b = b.row(&entries, rng.gen_range(0.0..2.0) * sigma);
    }
    b.build().expect("valid random model")
}

/// A random tree on `n` nodes (random attachment), as an edge list.
pub fn random_tree(seed: u64, n: usize) -> Vec<(usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.gen_range(0..=i);
        perm.swap(i, j);
    }
    (1..n)
        .map(|k| (perm[rng.gen_range(0..k)], perm[k]))
        .collect()
}

/// A random connected graph with at least one cycle (a tree plus `extra` edges).
pub fn random_cyclic_graph(seed: u64, n: usize, extra: usize) -> Vec<(usize, usize)> {
    let mut edges = random_tree(seed, n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc1c1e);
    let mut added = 0;
    while added < extra {
        let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
        if a != b
            && !edges
                .iter()
                .any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
        {
            edges.push((a, b));
            added += 1;
        }
    }
    edges
}

pub fn network(n: usize, edges: &[(usize, usize)], root: usize) -> Network {
    Network::from_edges(n, edges, root).expect("connected network")
}
