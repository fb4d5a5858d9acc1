//! `patch`: merge-patch an existing object, or its `status` subresource.

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use super::{FIELD_MANAGER, OpEnv, OpError};

/// Merge-patches the object `obj` names with `obj`'s content. With `subresource`
/// `Some("status")` the status subresource is patched instead.
pub async fn patch(
    env: &OpEnv,
    obj: Value,
    subresource: Option<&str>,
    dry_run: bool,
) -> Result<Value, OpError> {
    let target = env.target(&obj).await?;
    let r = target.object_ref()?;
    let api = target.api(&env.client);
    let pp = PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let result = match subresource {
        Some(sub) => {
            api.patch_subresource(sub, &r.name, &pp, &Patch::Merge(&obj))
                .await
        }
        None => api.patch(&r.name, &pp, &Patch::Merge(&obj)).await,
    };
    let stored = result.map_err(|source| OpError::Api {
        action: "patch",
        object: r.to_string(),
        source,
    })?;
    Ok(serde_json::to_value(&stored).unwrap_or(Value::Null))
}
