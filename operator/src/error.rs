//! The operator's error type.

/// Errors of the controllers and the runtime around them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),

    /// Serialising an object or `runconfig.json` failed.
    #[error("serialisation failed: {0}")]
    Serialization(#[from] serde_json::Error),

    /// An object from the API lacks a field the API server always sets.
    #[error("object has no {0}")]
    MissingField(&'static str),

    /// A watch cache did not finish its initial list in time.
    #[error("the {0} cache is not ready yet")]
    CacheNotReady(&'static str),

    /// Looking up a referenced config failed for a reason other than "not found".
    #[error("looking up {kind} {name:?} failed: {source}")]
    ConfigLookup {
        /// Kind of the config.
        kind: String,
        /// Name of the config.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },

    /// The metrics and health endpoint could not be served.
    #[error("metrics server failed: {0}")]
    Server(#[from] std::io::Error),
}

impl Error {
    /// A short, bounded label for the errors metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(status)) if status.code == 409 => "conflict",
            Error::Kube(_) => "kube",
            Error::Serialization(_) => "serialization",
            Error::MissingField(_) => "missing_field",
            Error::CacheNotReady(_) => "cache_not_ready",
            Error::ConfigLookup { .. } => "config_lookup",
            Error::Server(_) => "server",
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
