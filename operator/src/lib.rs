//! mcp-operator: the reference operator for the MCP config-reference contract
//! (`MCPServer`, `MCPTelemetryConfig`, `MCPWebhookConfig` in `toolhive.stacklok.dev/v1alpha1`).
//!
//! - [`api`]: the custom resource types and their CRDs;
//! - [`resources`]: pure builders of the proxy's Deployment, Service, ConfigMap and
//!   `runconfig.json`;
//! - [`controllers`]: the MCPServer controller and the generic shared-config controller;
//! - [`run`] / [`run_with`]: run every controller inside the caller's tokio runtime.
#![deny(missing_docs)]

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

pub mod api;
pub mod conditions;
pub mod controllers;
mod error;
pub mod hash;
pub mod logging;
pub mod metrics;
pub mod resources;
pub mod server;

pub use controllers::mcp_server::{DEFAULT_CONCURRENCY, Settings};
pub use error::{Error, Result};
pub use metrics::Metrics;

/// Name the operator reports Events and applies fields as.
pub const OPERATOR_NAME: &str = "mcp-operator";

/// Run all controllers with default [`Settings`] until `shutdown` resolves.
///
/// Runs inside the current tokio runtime; the `client` must belong to it.
pub async fn run(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    run_with(
        client,
        Settings::default(),
        Arc::new(Metrics::new()),
        shutdown,
    )
    .await
}

/// Run all controllers until `shutdown` resolves, then let in-flight reconciles finish.
pub async fn run_with(
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let shutdown = shutdown.boxed().shared();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: OPERATOR_NAME.to_string(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    tracing::info!("starting controllers");
    tokio::join!(
        controllers::config::run::<api::MCPTelemetryConfig>(
            client.clone(),
            recorder.clone(),
            metrics.clone(),
            shutdown.clone(),
        ),
        controllers::config::run::<api::MCPWebhookConfig>(
            client.clone(),
            recorder.clone(),
            metrics.clone(),
            shutdown.clone(),
        ),
        controllers::mcp_server::run(client, settings, recorder, metrics, shutdown),
    );
    tracing::info!("controllers stopped");
    Ok(())
}
