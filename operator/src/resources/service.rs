//! Service `mcp-<name>-proxy` with port `http` = `proxyPort`.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ProxyInputs, child_meta, labels, service_name};

/// The proxy Service.
pub fn build(inputs: &ProxyInputs<'_>, owner: &OwnerReference) -> Service {
    Service {
        metadata: child_meta(service_name(inputs.name), inputs, owner),
        spec: Some(ServiceSpec {
            selector: Some(labels(inputs.name)),
            ports: Some(vec![ServicePort {
                name: Some("http".to_string()),
                port: inputs.spec.proxy_port,
                target_port: Some(IntOrString::Int(inputs.spec.proxy_port)),
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{inputs, owner, server_spec};
    use rstest::rstest;

    #[rstest]
    #[case(8080)]
    #[case(9443)]
    fn service_port_follows_proxy_port(#[case] port: i32) {
        let mut spec = server_spec();
        spec.proxy_port = port;
        let inputs = inputs(&spec, None, None);
        let svc = build(&inputs, &owner());
        assert_eq!(svc.metadata.name.as_deref(), Some("mcp-fetch-proxy"));
        let s = svc.spec.unwrap();
        assert_eq!(s.selector.unwrap(), labels("fetch"));
        let p = &s.ports.unwrap()[0];
        assert_eq!(p.name.as_deref(), Some("http"));
        assert_eq!(p.port, port);
        assert_eq!(svc.metadata.labels.unwrap(), labels("fetch"));
    }
}
