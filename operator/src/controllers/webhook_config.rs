//! `MCPWebhookConfig` as a [`SharedConfig`].

use super::config::SharedConfig;
use crate::api::{MCPServerSpec, MCPWebhookConfig, MCPWebhookConfigSpec};
use crate::resources::runconfig::duration_seconds;

/// Finalizer of MCPWebhookConfig (CFG-1).
pub const FINALIZER: &str = "toolhive.stacklok.dev/webhookconfig-finalizer";

impl SharedConfig for MCPWebhookConfig {
    const FINALIZER: &'static str = FINALIZER;
    const CONTROLLER: &'static str = "mcpwebhookconfig";

    fn referenced_name(server: &MCPServerSpec) -> Option<&str> {
        server.webhook_config_ref.as_ref().map(|r| r.name.as_str())
    }

    /// The schema checks names, URLs and timeouts; this catches what it cannot express for
    /// stored objects written before a rule existed.
    fn validate(spec: &MCPWebhookConfigSpec) -> Result<(), String> {
        if spec.validating.is_empty() && spec.mutating.is_empty() {
            return Err("at least one validating or mutating webhook must be defined".into());
        }
        for webhook in spec.validating.iter().chain(&spec.mutating) {
            if !webhook.url.starts_with("https://") {
                return Err(format!("webhook {:?}: url must use https", webhook.name));
            }
            if let Some(timeout) = &webhook.timeout {
                match duration_seconds(timeout) {
                    Some(1..=30) => {}
                    _ => {
                        return Err(format!(
                            "webhook {:?}: timeout must be between 1s and 30s",
                            webhook.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
