//! Load-time validation of assertion trees and templates: every `(expr)` key and value
//! must compile, and keys must be well formed.

use super::node::Node;
use crate::assert::Tree;
use crate::expr::Compiler;

/// Every problem in `node`, a tree whose unprefixed expressions are in `compiler`, as
/// `(line, column, message)`.
pub(crate) fn validate_tree_with(node: &Node, compiler: Compiler) -> Vec<(u32, u32, String)> {
    match Tree::from_node_with(node, compiler) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| (e.line, e.column, e.message))
            .collect(),
    }
}
