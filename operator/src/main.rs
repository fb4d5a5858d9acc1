//! `mcp-operator`: run the controllers (`run`, the default) or print the CRDs (`crds`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use futures::FutureExt;
use mcp_operator::logging::{self, LogFormat};
use mcp_operator::{Metrics, Settings, api, resources};

#[derive(Parser, Debug)]
#[command(
    name = "mcp-operator",
    version,
    about = "Reference operator for MCPServer, MCPTelemetryConfig and MCPWebhookConfig"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controllers against KUBECONFIG or the in-cluster config (the default).
    Run(RunArgs),
    /// Print the CustomResourceDefinitions as one YAML stream.
    Crds,
}

#[derive(clap::Args, Debug, Clone)]
struct RunArgs {
    /// Port of the /healthz and /metrics endpoint.
    #[arg(long, env = "METRICS_PORT", default_value_t = 8080)]
    metrics_port: u16,
    /// Address the endpoint binds to.
    #[arg(long, env = "METRICS_BIND", default_value = "0.0.0.0")]
    metrics_bind: std::net::IpAddr,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Image of the proxy container of each MCPServer.
    #[arg(long, env = "TOOLHIVE_PROXY_IMAGE", default_value = resources::DEFAULT_PROXY_IMAGE)]
    proxy_image: String,
    /// MCPServer reconciles running at once.
    #[arg(long, env = "MCP_OPERATOR_CONCURRENCY", default_value_t = mcp_operator::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crds) => {
            print!("{}", api::crds_yaml().context("rendering the CRDs")?);
            Ok(())
        }
        Some(Command::Run(args)) => run(args).await,
        None => run(cli.run).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    logging::init(args.log_format);
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration: set KUBECONFIG or run in a cluster")?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = shutdown_signal().boxed().shared();
    let addr = SocketAddr::new(args.metrics_bind, args.metrics_port);
    let settings = Settings {
        proxy_image: args.proxy_image,
        concurrency: args.concurrency,
    };
    let server = mcp_operator::server::serve(addr, metrics.clone(), shutdown.clone());
    let controllers = mcp_operator::run_with(client, settings, metrics, shutdown);
    let (server, controllers) = tokio::join!(server, controllers);
    server.context("serving /healthz and /metrics")?;
    controllers.context("running the controllers")?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested");
}
