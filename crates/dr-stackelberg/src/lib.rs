//! Stackelberg pricing (skeleton; being written).
