//! Teaching output: the explanation model of a demo run and its renderers.
//!
//! - [`build`]: the model of a run from what its two sides observed.
//! - [`layout`]: width, wrapping, hex rows and colour for the terminal.
//! - [`check`]: one shell command per computed value that recomputes it.
//! - [`model`]: the explanation of a run as data.
//! - [`schedule`]: key schedule values with their inputs and checks.
//! - [`terminal`]: the model as wrapped, optionally coloured text.
//! - [`html`]: the model as one self-contained HTML page.
//! - [`values`]: the key schedule values a side observed, placed after their message.

pub mod build;
pub mod check;
pub mod html;
pub mod layout;
pub mod model;
pub mod schedule;
pub mod terminal;
pub mod values;
