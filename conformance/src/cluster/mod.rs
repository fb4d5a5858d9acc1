//! Cluster providers: a local control plane, k3s via testcontainers, or an existing kubeconfig.
