//! matching (in progress).
