//! Peak-demand mechanism (skeleton; being written).
