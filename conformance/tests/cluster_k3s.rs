//! The k3s provider, where a Docker daemon is reachable. Without one the test says so
//! and skips; the provider's own error is checked either way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kanon::cluster::ClusterError;
use kanon::cluster::k3s::{K3sCluster, docker_endpoint, probe_docker};

#[tokio::test]
async fn k3s_cluster_serves_the_api_or_says_docker_is_missing() {
    let endpoint = docker_endpoint();
    if let Err(reason) = probe_docker(&endpoint).await {
        // Written past libtest's output capture, so the skip and its reason show in
        // every `cargo test` run, not only when the test fails.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED k3s_cluster_serves_the_api (Docker required): {reason}"
        );
        let err = K3sCluster::start().await.expect_err("no Docker, no k3s");
        assert!(
            matches!(err, ClusterError::DockerUnavailable { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("--cluster local"), "{err}");
        return;
    }
    let cluster = K3sCluster::start().await.expect("k3s starts");
    let client = cluster.client().await.unwrap();
    let version = client.apiserver_version().await.expect("/version");
    assert!(
        version.git_version.starts_with("v1."),
        "{}",
        version.git_version
    );
}
