//! mcp-operator: the reference operator for the MCP config-reference contract
//! (`MCPServer`, `MCPTelemetryConfig`, `MCPWebhookConfig` in `toolhive.stacklok.dev/v1alpha1`).
