//! Load-time validation of assertion trees and templates: every `(expr)` key and value
//! must compile, and keys must be well formed.

use super::node::Node;
use crate::assert::Tree;

/// Every problem in `node` as `(line, column, message)`.
pub(crate) fn validate_tree(node: &Node) -> Vec<(u32, u32, String)> {
    match Tree::from_node(node) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| (e.line, e.column, e.message))
            .collect(),
    }
}
