//! The errors a backend answers with: its own error carried as a message, marked when the
//! user can fix it (a file held by another process, a store of another version, an input over
//! a limit) rather than an internal failure, so the binary can tell the two apart whatever the
//! engine.

/// A backend's failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    message: String,
    user_error: bool,
}

impl BackendError {
    /// An internal failure of the engine, with its message.
    pub fn internal(message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
            user_error: false,
        }
    }

    /// A failure the user can fix (the message says how).
    pub fn user(message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
            user_error: true,
        }
    }

    /// Data handed to the backend breaks its own invariants (a bug upstream, reported rather
    /// than written).
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        BackendError::internal(format!("store: {message}"))
    }

    /// Whether the user can fix it rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        self.user_error
    }
}

impl From<BackendError> for vitals_query::EngineError {
    fn from(e: BackendError) -> Self {
        vitals_query::EngineError(e.message)
    }
}

/// Why a commit failed: its records were not written, or were written (durably) but their
/// facts could not be derived — the next derivation completes them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// Nothing of the batch was acknowledged.
    #[error(transparent)]
    Write(BackendError),
    /// The records are stored; deriving their facts failed.
    #[error("records stored; deriving their facts failed: {0}")]
    Derive(BackendError),
}
