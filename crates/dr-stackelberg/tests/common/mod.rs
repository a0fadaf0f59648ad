//! Shared strategies for the integration tests.
#![allow(dead_code)]

use dr_stackelberg::{Company, ConsumerClasses, Market};
use proptest::prelude::*;

/// A random market: K companies, T periods, classes with budgets, ζ and counts.
pub fn market() -> impl Strategy<Value = Market> {
    (1usize..=3, 1usize..=5, 1usize..=4).prop_flat_map(|(k, t, c)| {
        (
            prop::collection::vec(prop::collection::vec(5.0f64..200.0, t), k),
            prop::collection::vec(1.0f64..50.0, c),
            prop::collection::vec(1.0f64..20.0, c),
            prop::collection::vec(0.2f64..2.0, c),
            prop::collection::vec(0.5f64..3.0, c),
        )
            .prop_map(move |(supply, count, budget, zeta, gamma)| {
                Market::new(
                    t,
                    supply.into_iter().map(Company::new).collect(),
                    ConsumerClasses::new(count, budget, vec![0.0; c])
                        .with_zeta(zeta)
                        .with_gamma(gamma),
                )
                .expect("valid market")
            })
    })
}

/// Random positive prices and uniform preferences for one consumer.
pub fn prices(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.05f64..2.0, 1..=max_len)
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}
