//! A small dense linear solve (Gaussian elimination with partial pivoting) for the
//! active-set polish of the planner's solution. The systems are of the size of the active
//! coupling rows (tens to a few hundred), so a dependency-free O(m³) solve is enough.

/// Solves `K u = r` in place (`k` row-major `m × m`, `r` overwritten by `u`).
/// Returns `false` when a pivot is (numerically) zero.
pub(crate) fn solve_in_place(k: &mut [f64], m: usize, r: &mut [f64]) -> bool {
    let scale = k
        .iter()
        .fold(0.0_f64, |a, &v| a.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..m {
        // Pivot.
        let mut best = col;
        let mut best_abs = k[col * m + col].abs();
        for row in col + 1..m {
            let v = k[row * m + col].abs();
            if v > best_abs {
                best = row;
                best_abs = v;
            }
        }
        if best_abs.is_nan() || best_abs <= 1e-14 * scale {
            return false;
        }
        if best != col {
            for c in 0..m {
                k.swap(col * m + c, best * m + c);
            }
            r.swap(col, best);
        }
        let piv = k[col * m + col];
        for row in col + 1..m {
            let factor = k[row * m + col] / piv;
            if factor != 0.0 {
                for c in col..m {
                    k[row * m + c] -= factor * k[col * m + c];
                }
                r[row] -= factor * r[col];
            }
        }
    }
    for col in (0..m).rev() {
        let mut v = r[col];
        for c in col + 1..m {
            v -= k[col * m + c] * r[c];
        }
        r[col] = v / k[col * m + col];
    }
    r.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_permuted_system() {
        // [[0, 2], [3, 1]] u = [4, 5] → u = (1, 2).
        let mut k = vec![0.0, 2.0, 3.0, 1.0];
        let mut r = vec![4.0, 5.0];
        assert!(solve_in_place(&mut k, 2, &mut r));
        assert!((r[0] - 1.0).abs() < 1e-15 && (r[1] - 2.0).abs() < 1e-15);
    }

    #[test]
    fn reports_singular() {
        let mut k = vec![1.0, 2.0, 2.0, 4.0];
        let mut r = vec![1.0, 2.0];
        assert!(!solve_in_place(&mut k, 2, &mut r));
    }
}
