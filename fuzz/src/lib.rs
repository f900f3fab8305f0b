//! The fuzzing harness's view of the crate: the invitation module compiled in by path, so the
//! fuzz build needs only the parser's dependencies. Must never hold any logic of its own.

#[path = "../../src/invitation/mod.rs"]
pub mod invitation;
