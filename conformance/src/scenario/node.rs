//! A YAML value that remembers where each of its nodes (and map keys) came from.
//!
//! Resources, assertion trees, binding values and opaque configuration blocks are kept
//! as [`Node`]s so that an error deep inside them (an unparsable `(expr)` key, a field
//! that does not match) can still be reported at `file:line:column`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::Location;

/// A positioned YAML node: a value plus its 1-based line and column (for a quoted
/// single-line string, the column of its first character after the quote).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// 1-based line of the node (0 when unknown).
    pub line: u32,
    /// 1-based column of the node (0 when unknown).
    pub column: u32,
}

/// The value of a [`Node`]. Maps keep their source order.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null` or `~` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer or a float.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Key, Node)>),
}

/// A positioned map key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// 1-based line of the key.
    pub line: u32,
    /// 1-based column of the key.
    pub column: u32,
}

impl Node {
    /// A node without a known position (built in code rather than read from a file).
    pub fn synthetic(value: NodeValue) -> Self {
        Self {
            value,
            line: 0,
            column: 0,
        }
    }

    /// The node's location within `file`.
    pub fn location(&self, file: &Arc<PathBuf>) -> Location {
        Location::new(file, self.line, self.column)
    }

    /// Converts to a plain JSON value (positions dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a position-less node from a JSON value.
    pub fn from_json(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        let v = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => NodeValue::Number(n.clone()),
            Value::String(s) => NodeValue::String(s.clone()),
            Value::Array(items) => NodeValue::Seq(items.iter().map(Node::from_json).collect()),
            Value::Object(map) => NodeValue::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                line: 0,
                                column: 0,
                            },
                            Node::from_json(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node::synthetic(v)
    }

    /// The items of a List document (`kind: List`, `ConfigMapList`...: a top-level
    /// `items` sequence, Chainsaw's test for a list), else the document itself. Files
    /// holding a List are sent or checked item by item, as Chainsaw does.
    pub fn list_items(self) -> Vec<Node> {
        match self.get("items") {
            Some(Node {
                value: NodeValue::Seq(items),
                ..
            }) => items.clone(),
            _ => vec![self],
        }
    }

    /// The value of map key `name`, when this node is a map holding it.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The positioned key `name`, when this node is a map holding it.
    pub fn key(&self, name: &str) -> Option<&Key> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The string value, when this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Number(_) => "number",
            NodeValue::String(_) => "string",
            NodeValue::Seq(_) => "sequence",
            NodeValue::Map(_) => "mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        let mut column = spanned.referenced.column() as u32;
        // For a quoted string on one line, point at its first character rather than at
        // the quote, so that offsets inside the text (expression errors) stay exact.
        if let NodeValue::String(s) = &spanned.value {
            let len = spanned.referenced.span().len();
            if !s.contains('\n') && len == s.chars().count() as u64 + 2 && column > 0 {
                column += 1;
            }
        }
        Ok(Node {
            value: spanned.value,
            line: spanned.referenced.line() as u32,
            column,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        i64::try_from(v)
            .map(|v| NodeValue::Number(v.into()))
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        u64::try_from(v)
            .map(|v| NodeValue::Number(v.into()))
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        serde_json::Number::from_f64(v)
            .map(NodeValue::Number)
            .ok_or_else(|| E::custom("NaN and infinite numbers are not supported"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Node>()?;
            if entries.iter().any(|(k, _)| k.name == key.value) {
                return Err(de::Error::custom(format!("duplicate key `{}`", key.value)));
            }
            entries.push((
                Key {
                    name: key.value,
                    line: key.referenced.line() as u32,
                    column: key.referenced.column() as u32,
                },
                value,
            ));
        }
        Ok(NodeValue::Map(entries))
    }
}

impl schemars::JsonSchema for Node {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Any YAML value (a resource, an assertion tree or a free-form configuration block)."
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_nested_nodes_and_keys() {
        let node: Node = serde_saphyr::from_str("a:\n  b: [1, two]\n  c: true\n").unwrap();
        let a = node.get("a").unwrap();
        assert_eq!((a.line, a.column), (2, 3));
        let b = a.get("b").unwrap();
        assert_eq!((b.line, b.column), (2, 6));
        let c_key = a.key("c").unwrap();
        assert_eq!((c_key.line, c_key.column), (3, 3));
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": {"b": [1, "two"], "c": true}})
        );
        let NodeValue::Seq(items) = &b.value else {
            panic!("not a seq")
        };
        assert_eq!((items[1].line, items[1].column), (2, 10));
    }

    #[test]
    fn quoted_strings_point_at_their_text() {
        let node: Node = serde_saphyr::from_str("a: \"(x)\"\nb: '(y)'\nc: (z)\n").unwrap();
        for (key, column) in [("a", 5), ("b", 5), ("c", 4)] {
            assert_eq!(node.get(key).unwrap().column, column, "{key}");
        }
    }

    #[test]
    fn rejects_duplicate_keys() {
        let err = serde_saphyr::from_str::<Node>("a: 1\na: 2\n").unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn roundtrips_json() {
        let v = serde_json::json!({"x": [null, 1.5, "s", {"y": false}]});
        assert_eq!(Node::from_json(&v).to_json(), v);
    }
}
