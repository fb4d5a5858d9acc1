//! Starts a local cluster through the library with default options (signal teardown on),
//! prints its component pids and its directory, then waits to be signalled. Used by the
//! signal tests: SIGINT or SIGTERM must leave no process and no directory behind.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = kanon::cluster::LocalCluster::start().await?;
    let pids: Vec<String> = cluster.pids().iter().map(|(_, p)| p.to_string()).collect();
    println!("pids {}", pids.join(" "));
    println!("dir {}", cluster.dir().display());
    println!("ready");
    std::future::pending::<()>().await;
    Ok(())
}
