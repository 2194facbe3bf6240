//! Teaching output: the explanation model of a demo run and its renderers.
//!
//! - [`layout`]: width, wrapping, hex rows and colour for the terminal.
//! - [`check`]: one shell command per computed value that recomputes it.

pub mod check;
pub mod layout;
