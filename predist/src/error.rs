//! Errors: parameters that make no sense or would not fit in memory.

/// What was wrong with the requested scheme, deployment or capture.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside the range the scheme or simulator accepts.
    #[error("{name} must be {expected}, got {got}")]
    Parameter {
        /// The parameter (as the command line spells it, e.g. `--ring`).
        name: &'static str,
        /// The accepted range, in words.
        expected: String,
        /// The value given.
        got: String,
    },
    /// The deployment would have more candidate pairs than the simulator handles.
    #[error("{}", too_many_pairs(*nodes, *range, *limit))]
    TooManyPairs {
        /// Number of nodes.
        nodes: u32,
        /// The radio range; `None` for the complete graph.
        range: Option<f64>,
        /// The limit on neighbour pairs.
        limit: u64,
    },
    /// The caller of [`crate::sweep_with`] stopped the sweep.
    #[error("the sweep was stopped before its end")]
    Stopped,
    /// Drawing the plot failed.
    #[error("cannot draw the plot: {0}")]
    Plot(String),
}

impl Error {
    pub(crate) fn parameter(
        name: &'static str,
        expected: impl Into<String>,
        got: impl ToString,
    ) -> Self {
        Self::Parameter {
            name,
            expected: expected.into(),
            got: got.to_string(),
        }
    }
}

fn too_many_pairs(nodes: u32, range: Option<f64>, limit: u64) -> String {
    let memory = format!(
        "{limit} neighbour pairs ({} bytes each at the peak of a simulation, {} GB)",
        crate::BYTES_PER_PAIR,
        limit * crate::BYTES_PER_PAIR / 1_000_000_000
    );
    match range {
        Some(r) => format!(
            "{nodes} nodes with range {r} give more than {memory}; use fewer nodes or a \
             smaller --range"
        ),
        None => format!(
            "{nodes} nodes without --range give more than {memory} (every pair is in range); \
             use fewer nodes or give a --range"
        ),
    }
}
