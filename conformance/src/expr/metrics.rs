//! `x_metrics_decode`: the Prometheus text exposition format decoded into the samples
//! Chainsaw returns (a Prometheus `model.Vector` as JSON).
//!
//! Each sample is `{"metric": {"__name__": N, label: value...}, "value": [ts, "v"]}`,
//! where `ts` is in seconds with millisecond precision (the sample's own timestamp, or
//! now) and `v` the value as Go prints it. Summaries and histograms expand to their
//! `_sum`, `_count`, `{quantile=...}` and `_bucket{le=...}` series, as written. Samples
//! are sorted as Prometheus sorts a vector: by label set, then time.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One sample.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    labels: BTreeMap<String, String>,
    value: f64,
    millis: i64,
}

/// Decodes `text` with `now_millis` as the timestamp of samples that carry none.
pub fn decode(text: &str, now_millis: i64) -> Result<Value, String> {
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let s = parse_line(line, now_millis).map_err(|e| format!("line {}: {e}", i + 1))?;
        samples.push(s);
    }
    samples.sort_by(|a, b| {
        if before(&a.labels, &b.labels) {
            std::cmp::Ordering::Less
        } else if before(&b.labels, &a.labels) {
            std::cmp::Ordering::Greater
        } else {
            a.millis.cmp(&b.millis)
        }
    });
    Ok(Value::Array(
        samples
            .into_iter()
            .map(|s| {
                let ts = serde_json::Number::from_f64(s.millis as f64 / 1000.0)
                    .map(Value::Number)
                    .unwrap_or(Value::Null);
                json!({"metric": s.labels, "value": [ts, go_float(s.value)]})
            })
            .collect(),
    ))
}

/// Prometheus' `LabelSet.Before`: fewer labels first, then label values compared in
/// label-name order.
fn before(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    if a.len() != b.len() {
        return a.len() < b.len();
    }
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    for n in names {
        let (x, y) = (
            a.get(n).map(String::as_str).unwrap_or(""),
            b.get(n).map(String::as_str).unwrap_or(""),
        );
        if x != y {
            return x < y;
        }
    }
    false
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("invalid value {s:?}")),
    }
}

fn parse_line(line: &str, now_millis: i64) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    labels.insert("__name__".to_string(), name.to_string());
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(body)?;
        labels.extend(parsed);
        rest = after;
    }
    let mut fields = rest.split_whitespace();
    let value = parse_float(fields.next().ok_or("a sample needs a value")?)?;
    let millis = match fields.next() {
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {t:?}"))?,
        None => now_millis,
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected {extra:?} after the timestamp"));
    }
    Ok(Sample {
        labels,
        value,
        millis,
    })
}

/// Label name/value pairs, in the order written.
type Labels = Vec<(String, String)>;

/// Parses `a="x",b="y"}` and returns the labels and the text after `}`.
fn parse_labels(body: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    let mut rest = body.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((out, after));
        }
        let eq = rest.find('=').ok_or("unterminated label set")?;
        let name = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("label {name:?}: value must be quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                },
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        out.push((name, value));
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# TYPE temperature gauge
temperature 21.5
escaped{path="a\"b\\c"} +Inf
"#;

    #[test]
    fn samples_decode_like_prometheus_vectors() {
        let v = decode(TEXT, 1_700_000_000_123).unwrap();
        assert_eq!(
            v,
            json!([
                {"metric": {"__name__": "temperature"}, "value": [1_700_000_000.123, "21.5"]},
                {"metric": {"__name__": "escaped", "path": "a\"b\\c"}, "value": [1_700_000_000.123, "+Inf"]},
                {"metric": {"__name__": "http_requests_total", "code": "200", "method": "post"},
                 "value": [1_395_066_363.0, "1027"]},
                {"metric": {"__name__": "http_requests_total", "code": "400", "method": "post"},
                 "value": [1_395_066_363.0, "3"]},
            ])
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(decode("no_value", 0).unwrap_err().contains("line 1"));
        assert!(decode("m{a=\"x} 1", 0).is_err());
        assert!(decode("m one", 0).is_err());
    }
}
