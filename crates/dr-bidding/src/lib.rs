//! Supply-function bidding (skeleton; being written).
