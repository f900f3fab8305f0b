//! offers (in progress).
