//! The strategic equilibrium for a general (non-quadratic) supply cost: the monotone
//! variational inequality of chen-li-low-doyle-2010 condition (44),
//! `F_{i,t}(q) = −(U_i'(q_i(t), t) − C'(Q(t), t) − q_i(t) C''(Q(t), t))` over `Π_i S_i`.

use crate::equilibrium::Equilibrium;
use crate::error::ShapingError;
use crate::model::ShapingModel;

/// Settings of the VI path.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ViSettings {}

/// The Nash equilibrium as the solution of the monotone VI (module docs).
pub fn strategic_equilibrium_vi(
    _model: &ShapingModel,
    _settings: &ViSettings,
) -> Result<Equilibrium, ShapingError> {
    Err(ShapingError::Unsupported {
        field: "supply".into(),
        message: "the VI path is not available yet".into(),
    })
}
