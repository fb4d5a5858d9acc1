//! The JSONPath subset `kubectl wait --for=jsonpath=` uses: `{.status.phase}`,
//! `.spec.containers[0].name`, `.metadata.labels['app.kubernetes.io/name']`,
//! `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
    /// `[?(@.key=="value")]`: the elements whose `key` equals `value`.
    Filter(String, String),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath {path:?}: {reason}")]
pub struct JsonPathError {
    /// The path text.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

impl JsonPath {
    /// Parses `text` (braces optional, leading `.` optional).
    pub fn parse(text: &str) -> Result<Self, JsonPathError> {
        let err = |reason: &str| JsonPathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(t);
        let mut segments = Vec::new();
        let chars: Vec<char> = t.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        if i >= chars.len() && segments.is_empty() {
                            break; // "." alone: the whole object
                        }
                        return Err(err("empty field name"));
                    }
                    segments.push(Segment::Field(name));
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| err("unclosed ["))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        segments.push(Segment::Field(q.to_string()));
                    } else if let Some(f) =
                        inner.strip_prefix("?(@.").and_then(|s| s.strip_suffix(')'))
                    {
                        let (k, v) = f.split_once("==").ok_or_else(|| err("filter needs =="))?;
                        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                        segments.push(Segment::Filter(k.trim().to_string(), v.to_string()));
                    } else {
                        let n = inner
                            .parse::<usize>()
                            .map_err(|_| err(&format!("unsupported index [{inner}]")))?;
                        segments.push(Segment::Index(n));
                    }
                    i = close + 1;
                }
                c if segments.is_empty() && i == 0 => {
                    // Tolerate a missing leading dot: "status.phase".
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let _ = c;
                    segments.push(Segment::Field(chars[start..i].iter().collect()));
                }
                c => return Err(err(&format!("unexpected {c:?}"))),
            }
        }
        Ok(Self { segments })
    }

    /// Every value the path selects in `root`.
    pub fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                match seg {
                    Segment::Field(f) => next.extend(v.get(f.as_str())),
                    Segment::Index(n) => next.extend(v.get(*n)),
                    Segment::Filter(k, want) => {
                        if let Some(items) = v.as_array() {
                            next.extend(items.iter().filter(|item| {
                                item.get(k.as_str())
                                    .is_some_and(|x| scalar_text(x) == *want)
                            }));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

/// How kubectl prints a scalar: strings bare, others as JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "replicas": 2},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Available", "status": "False"}
            ]}
        })
    }

    #[rstest]
    #[case("{.status.phase}", "Running")]
    #[case(".status.phase", "Running")]
    #[case("status.phase", "Running")]
    #[case(".spec.containers[1].name", "b")]
    #[case(".spec.replicas", "2")]
    #[case(".metadata.labels['app.kubernetes.io/name']", "web")]
    #[case("{.status.conditions[?(@.type==\"Ready\")].status}", "True")]
    #[case(".status.conditions[?(@.type=='Available')].status", "False")]
    fn paths_select(#[case] path: &str, #[case] expected: &str) {
        let d = doc();
        let got = JsonPath::parse(path).unwrap().select(&d);
        assert_eq!(got.len(), 1, "{path}");
        assert_eq!(scalar_text(got[0]), expected);
    }

    #[test]
    fn missing_paths_select_nothing() {
        let d = doc();
        assert!(
            JsonPath::parse(".status.nope")
                .unwrap()
                .select(&d)
                .is_empty()
        );
        assert!(
            JsonPath::parse(".spec.containers[9]")
                .unwrap()
                .select(&d)
                .is_empty()
        );
    }

    #[rstest]
    #[case(".a[")]
    #[case(".a[x]")]
    #[case(".a..b")]
    fn bad_paths_are_errors(#[case] path: &str) {
        assert!(JsonPath::parse(path).is_err(), "{path}");
    }
}
