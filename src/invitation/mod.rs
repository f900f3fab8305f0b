//! invitation (in progress).
