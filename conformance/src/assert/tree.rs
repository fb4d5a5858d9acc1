//! Compiled assertion trees.

use serde_json::Value;

use super::syntax::{self, KeySyntax, Target};

use crate::expr::Compiler;
use crate::scenario::{Node, NodeValue};

/// An assertion tree with every key and value expression compiled.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) root: TNode,
}

#[derive(Clone, Debug)]
pub(crate) enum TNode {
    Map(Vec<(KeySyntax, TNode)>),
    Array(Vec<TNode>),
    /// A literal (non-string scalar, plain string or escaped `\...\` string).
    Literal(Value),
    /// A `(expr)` string value, compared after evaluation against the actual value.
    Expr(crate::expr::Expression, String),
}

/// A problem in an assertion tree, at a 1-based line and column (0 when the tree was
/// built from JSON without positions).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct TreeError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl Tree {
    /// Compiles a positioned tree; every error is returned with its position.
    pub fn from_node(node: &Node) -> Result<Tree, Vec<TreeError>> {
        Tree::from_node_with(node, Compiler::Jp)
    }

    /// Compiles a positioned tree whose unprefixed `(expr)`s are written with
    /// `default`.
    pub fn from_node_with(node: &Node, default: Compiler) -> Result<Tree, Vec<TreeError>> {
        let mut errors = Vec::new();
        let root = compile(node, default, &mut errors);
        if errors.is_empty() {
            Ok(Tree { root })
        } else {
            Err(errors)
        }
    }

    /// Compiles a tree given as JSON (errors have no position).
    pub fn from_json(value: &Value) -> Result<Tree, Vec<TreeError>> {
        Tree::from_node(&Node::from_json(value))
    }
}

fn compile(node: &Node, default: Compiler, errors: &mut Vec<TreeError>) -> TNode {
    match &node.value {
        NodeValue::Map(entries) => {
            let mut out = Vec::new();
            for (key, value) in entries {
                let child = compile(value, default, errors);
                match syntax::parse_with(&key.name, default) {
                    Ok(mut k) => {
                        k.line = key.line;
                        k.column = key.column;
                        out.push((k, child));
                    }
                    Err(e) => errors.push(TreeError {
                        line: key.line,
                        column: shift(key.column, e.offset),
                        message: e.message,
                    }),
                }
            }
            TNode::Map(out)
        }
        NodeValue::Seq(items) => {
            TNode::Array(items.iter().map(|i| compile(i, default, errors)).collect())
        }
        NodeValue::String(s) => match syntax::parse_value_with(s, default) {
            Ok(Target::Expr(e)) => TNode::Expr(e, s.clone()),
            Ok(Target::Literal(l)) => TNode::Literal(Value::String(l)),
            Err(e) => {
                errors.push(TreeError {
                    line: node.line,
                    column: shift(node.column, e.offset),
                    message: e.message,
                });
                TNode::Literal(Value::String(s.clone()))
            }
        },
        other => TNode::Literal(Node::synthetic(other.clone()).to_json()),
    }
}

fn shift(column: u32, offset: usize) -> u32 {
    if column == 0 {
        0
    } else {
        column.saturating_add(offset as u32)
    }
}
