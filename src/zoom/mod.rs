//! zoom (in progress).
