//! Label selectors (`a=b,c!=d,e,!f`, and `in`/`notin` sets) evaluated on objects.

use std::collections::BTreeMap;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value`.
    NotEquals(String, String),
    /// `key in (a, b)`.
    In(String, Vec<String>),
    /// `key notin (a, b)`.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// A selector that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector {selector:?}: {reason}")]
pub struct SelectorError {
    /// The selector text.
    pub selector: String,
    /// What is wrong.
    pub reason: String,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn set_values(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl LabelSelector {
    /// Parses `text`; the empty selector matches everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let err = |reason: &str| SelectorError {
            selector: text.to_string(),
            reason: reason.to_string(),
        };
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self { requirements });
        }
        for part in split_top_level(text) {
            let p = part.trim();
            if p.is_empty() {
                return Err(err("empty requirement"));
            }
            let req = if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Requirement::NotIn(
                    k.trim().into(),
                    set_values(rest).ok_or_else(|| err("notin needs (a, b)"))?,
                )
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Requirement::In(
                    k.trim().into(),
                    set_values(rest).ok_or_else(|| err("in needs (a, b)"))?,
                )
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if p.contains(char::is_whitespace) {
                return Err(err(&format!("cannot read {p:?}")));
            } else {
                Requirement::Exists(p.into())
            };
            requirements.push(req);
        }
        Ok(Self { requirements })
    }

    /// A selector requiring every `key=value` of `labels`.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        Self {
            requirements: labels
                .iter()
                .map(|(k, v)| Requirement::Equals(k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// Whether the selector is empty (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[rstest]
    #[case("", true)]
    #[case("app=web", true)]
    #[case("app==web", true)]
    #[case("app=db", false)]
    #[case("app!=db", true)]
    #[case("tier", true)]
    #[case("!tier", false)]
    #[case("!missing", true)]
    #[case("app=web,tier=front", true)]
    #[case("app=web,tier=back", false)]
    #[case("tier in (front, back)", true)]
    #[case("tier notin (front)", false)]
    #[case("tier in (a,b),app=web", false)]
    fn selectors_match(#[case] selector: &str, #[case] expected: bool) {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        assert_eq!(
            LabelSelector::parse(selector).unwrap().matches(&l),
            expected,
            "{selector}"
        );
    }

    #[rstest]
    #[case("a=b,")]
    #[case("x in y")]
    #[case("what is this")]
    fn bad_selectors_are_errors(#[case] selector: &str) {
        assert!(LabelSelector::parse(selector).is_err(), "{selector}");
    }
}
