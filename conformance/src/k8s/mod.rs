//! The Kubernetes side of the engine, independent of the scenario model.
//!
//! - [`discovery`]: `apiVersion` + `kind` → API resource and scope, cached, refreshed
//!   when a kind is unknown (CRDs installed mid-run).
//! - [`error`]: client errors in words (no `Debug` dump of the server's `Status`).
//! - [`selector`]: label selectors evaluated on watched objects.
//! - [`warnings`]: the API server's `Warning` headers of an operation's requests
//!   (`$warnings`), through the layer every kanon client carries.
//! - [`watch`]: one shared watcher + store per (resource, namespace), and the
//!   watch-driven waits built on them: `wait_for` re-evaluates a check on every watch
//!   event of the objects it looks at, `hold_for` requires a check to keep holding.

pub mod discovery;
pub mod error;
pub mod selector;
pub mod warnings;
pub mod watch;

pub use discovery::{Resolved, Resolver};
pub use watch::{Subscription, WaitOutcome, WatchHub, hold_for, wait_for};
