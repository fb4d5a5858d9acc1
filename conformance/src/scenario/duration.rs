//! Go-style durations (`"1m30s"`, `"500ms"`, `"2h"`), as Chainsaw and Kubernetes write them.

use std::time::Duration;

/// Parses a Go duration string (`time.ParseDuration` syntax) into a [`Duration`].
///
/// Accepts a sequence of decimal numbers with a unit each (`ns`, `us`/`µs`, `ms`, `s`, `m`,
/// `h`), such as `"300ms"`, `"1.5h"` or `"2h45m"`; `"0"` alone is zero. Negative
/// durations are rejected: no kanon timeout can be negative.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || {
        format!(
            "invalid duration {text:?}: expected a Go duration such as \"30s\", \"1m30s\" or \"500ms\""
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    let s = match s.strip_prefix('+') {
        Some(rest) => rest,
        None => s,
    };
    if s.starts_with('-') {
        return Err(format!(
            "invalid duration {text:?}: durations cannot be negative"
        ));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: missing unit (ns, us, ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?} (expected ns, us, ms, s, m or h)"
                ));
            }
        };
        total_nanos += number * scale;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(format!("invalid duration {text:?}: out of range"));
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Formats a duration the Go way (`1m30s`, `500ms`, `0s`), for messages and reports.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}us", trim_float(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_float(nanos as f64 / 1e6));
    }
    let total_secs = d.as_secs();
    let h = total_secs / 3600;
    let m = (total_secs % 3600) / 60;
    let s = (total_secs % 60) as f64 + f64::from(d.subsec_nanos()) / 1e9;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", trim_float(s)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("5s", 5_000)]
    #[case("1m30s", 90_000)]
    #[case("500ms", 500)]
    #[case("1.5h", 5_400_000)]
    #[case("2h45m", 9_900_000)]
    #[case("0", 0)]
    #[case("+3s", 3_000)]
    #[case("1s500ms", 1_500)]
    fn parses(#[case] text: &str, #[case] millis: u64) {
        assert_eq!(parse_duration(text).unwrap(), Duration::from_millis(millis));
    }

    #[rstest]
    #[case("")]
    #[case("5")]
    #[case("five")]
    #[case("5 s")]
    #[case("5d")]
    #[case("-1s")]
    #[case("s")]
    #[case("1..2s")]
    fn rejects(#[case] text: &str) {
        assert!(parse_duration(text).is_err(), "{text}");
    }

    #[rstest]
    #[case(Duration::from_secs(90), "1m30s")]
    #[case(Duration::from_millis(500), "500ms")]
    #[case(Duration::ZERO, "0s")]
    #[case(Duration::from_secs(3600), "1h0m0s")]
    fn formats(#[case] d: Duration, #[case] text: &str) {
        assert_eq!(format_duration(d), text);
    }
}
