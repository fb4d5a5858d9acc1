//! The checked-in CRDs must match what `mcp-operator crds` prints.

use std::path::Path;

#[test]
fn checked_in_crds_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/crds/crds.yaml");
    let checked_in = std::fs::read_to_string(&path).expect("fixtures/crds/crds.yaml is readable");
    let generated = mcp_operator::api::crds_yaml().expect("CRDs render");
    assert!(
        checked_in == generated,
        "fixtures/crds/crds.yaml is stale; regenerate it with\n  cargo run -p mcp-operator -- crds > fixtures/crds/crds.yaml"
    );
}

#[test]
fn crds_parse_back_as_three_documents() {
    let generated = mcp_operator::api::crds_yaml().expect("CRDs render");
    let names: Vec<String> = generated
        .split("---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| {
            let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
                serde_saphyr::from_str(doc).expect("each document is a CRD");
            crd.metadata.name.unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        [
            "mcpservers.toolhive.stacklok.dev",
            "mcptelemetryconfigs.toolhive.stacklok.dev",
            "mcpwebhookconfigs.toolhive.stacklok.dev"
        ]
    );
}
