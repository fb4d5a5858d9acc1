//! The Kyverno functions Chainsaw exposes beyond kanon's basics: time, regex and
//! wildcard matching, semver ranges, `random`, object helpers (`items`,
//! `object_from_lists`, `label_match`), `compare`, `replace`, `round`,
//! `path_canonicalize`, and Chainsaw's `x_metrics_decode`. Names, argument order and
//! result shapes follow Kyverno's `pkg/engine/jmespath` and Chainsaw's docs.

use jmespath::functions::ArgumentType as T;
use jmespath::{Context, JmespathError, Rcvar, Runtime, Variable};
use serde_json::{Map, Value};

use super::functions::{fail, number, reg, string, string_arg, to_var};
use super::gotime::{GoTime, go_duration_string, parse_signed_duration};

fn boolean(b: bool) -> Result<Rcvar, JmespathError> {
    Ok(Rcvar::new(Variable::Bool(b)))
}

fn time_arg(ctx: &Context<'_>, name: &str, a: &[Rcvar], i: usize) -> Result<GoTime, JmespathError> {
    GoTime::parse_rfc3339(&string_arg(a, i)).map_err(|e| fail(ctx, format!("{name}: {e}")))
}

fn duration_arg(
    ctx: &Context<'_>,
    name: &str,
    a: &[Rcvar],
    i: usize,
) -> Result<i128, JmespathError> {
    parse_signed_duration(&string_arg(a, i)).map_err(|e| fail(ctx, format!("{name}: {e}")))
}

/// Kyverno's `ifaceToString`: strings as is, numbers with float32 precision, booleans.
fn loose_string(v: Option<&Rcvar>) -> Option<String> {
    match &**v? {
        Variable::String(s) => Some(s.clone()),
        Variable::Number(n) => n.as_f64().map(|f| format!("{}", f as f32)),
        Variable::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn loose_arg(
    ctx: &Context<'_>,
    name: &str,
    a: &[Rcvar],
    i: usize,
) -> Result<String, JmespathError> {
    loose_string(a.get(i)).ok_or_else(|| {
        fail(
            ctx,
            format!("{name}: argument {} must be a string or a number", i + 1),
        )
    })
}

fn regex_arg(ctx: &Context<'_>, name: &str, a: &[Rcvar]) -> Result<regex::Regex, JmespathError> {
    regex::Regex::new(&string_arg(a, 0)).map_err(|e| fail(ctx, format!("{name}: {e}")))
}

/// Kyverno's wildcard matching: `*` any run of characters, `?` exactly one.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Go's `filepath.Clean` (what `filepath.Join(s)` does to one path).
pub(crate) fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `semver_compare(version, range)`: whether `version` satisfies a blang/semver range
/// (`>=1.0.0 <2.0.0 || 3.0.0`, comparators `=`, `==`, `!=`, `!`, `<`, `<=`, `>`,
/// `>=`, a bare version meaning `=`). An unparsable version counts as `0.0.0`, as in
/// Kyverno.
pub(crate) fn semver_satisfies(version: &str, range: &str) -> Result<bool, String> {
    let v = semver::Version::parse(version.trim()).unwrap_or(semver::Version::new(0, 0, 0));
    let mut any = false;
    for alternative in range.split("||") {
        let mut all = true;
        let mut seen = false;
        for comparator in alternative.split_whitespace() {
            seen = true;
            let (op, rest) = ["!=", ">=", "<=", "==", ">", "<", "=", "!"]
                .iter()
                .find_map(|op| comparator.strip_prefix(op).map(|r| (*op, r)))
                .unwrap_or(("=", comparator));
            let want = semver::Version::parse(rest)
                .map_err(|e| format!("invalid version {rest:?} in range {range:?}: {e}"))?;
            let ok = match op {
                "!=" | "!" => v != want,
                ">=" => v >= want,
                "<=" => v <= want,
                ">" => v > want,
                "<" => v < want,
                _ => v == want,
            };
            all &= ok;
        }
        if !seen {
            return Err(format!("invalid range {range:?}: empty alternative"));
        }
        any |= all;
    }
    Ok(any)
}

/// Registers the functions on `rt`.
pub(super) fn register(rt: &mut Runtime) {
    register_time(rt);
    register_text(rt);
    register_objects(rt);
}

fn register_time(rt: &mut Runtime) {
    reg(rt, "time_now", vec![], |_, _| {
        string(GoTime::now_local().rfc3339())
    });
    reg(rt, "time_now_utc", vec![], |_, _| {
        string(GoTime::now_utc().rfc3339())
    });
    reg(rt, "time_add", vec![T::String, T::String], |a, ctx| {
        let t = time_arg(ctx, "time_add", a, 0)?;
        let d = duration_arg(ctx, "time_add", a, 1)?;
        string(t.add_nanos(d).map_err(|e| fail(ctx, e))?.rfc3339())
    });
    reg(rt, "time_parse", vec![T::String, T::String], |a, ctx| {
        let (layout, text) = (string_arg(a, 0), string_arg(a, 1));
        if layout.parse::<i64>().is_ok() {
            let secs: i64 = text
                .trim()
                .parse()
                .map_err(|_| fail(ctx, format!("time_parse: {text:?} is not an epoch time")))?;
            let at = jiff::Timestamp::from_second(secs)
                .map_err(|e| fail(ctx, format!("time_parse: {e}")))?;
            let t = GoTime {
                at,
                offset: jiff::tz::Offset::UTC,
            };
            return string(t.rfc3339());
        }
        let t = GoTime::parse_layout(&layout, &text)
            .map_err(|e| fail(ctx, format!("time_parse: {e}")))?;
        string(t.rfc3339())
    });
    reg(
        rt,
        "time_since",
        vec![T::String, T::String, T::String],
        |a, ctx| {
            let layout = string_arg(a, 0);
            let parse = |s: &str| {
                if layout.is_empty() {
                    GoTime::parse_rfc3339(s)
                } else {
                    GoTime::parse_layout(&layout, s)
                }
                .map_err(|e| fail(ctx, format!("time_since: {e}")))
            };
            let t1 = parse(&string_arg(a, 1))?;
            let end = string_arg(a, 2);
            let t2 = if end.is_empty() {
                GoTime::now_utc()
            } else {
                parse(&end)?
            };
            string(go_duration_string(t2.nanos() - t1.nanos()))
        },
    );
    reg(rt, "time_to_cron", vec![T::String], |a, ctx| {
        let z = time_arg(ctx, "time_to_cron", a, 0)?.zoned();
        string(format!(
            "{} {} {} {} {}",
            z.minute(),
            z.hour(),
            z.day(),
            z.month(),
            z.weekday().to_sunday_zero_offset()
        ))
    });
    reg(rt, "time_utc", vec![T::String], |a, ctx| {
        string(time_arg(ctx, "time_utc", a, 0)?.utc().rfc3339())
    });
    reg(rt, "time_diff", vec![T::String, T::String], |a, ctx| {
        let t1 = time_arg(ctx, "time_diff", a, 0)?;
        let t2 = time_arg(ctx, "time_diff", a, 1)?;
        string(go_duration_string(t2.nanos() - t1.nanos()))
    });
    reg(rt, "time_before", vec![T::String, T::String], |a, ctx| {
        boolean(
            time_arg(ctx, "time_before", a, 0)?.nanos()
                < time_arg(ctx, "time_before", a, 1)?.nanos(),
        )
    });
    reg(rt, "time_after", vec![T::String, T::String], |a, ctx| {
        boolean(
            time_arg(ctx, "time_after", a, 0)?.nanos() > time_arg(ctx, "time_after", a, 1)?.nanos(),
        )
    });
    reg(
        rt,
        "time_between",
        vec![T::String, T::String, T::String],
        |a, ctx| {
            let t = time_arg(ctx, "time_between", a, 0)?.nanos();
            let start = time_arg(ctx, "time_between", a, 1)?.nanos();
            let end = time_arg(ctx, "time_between", a, 2)?.nanos();
            boolean(t > start && t < end)
        },
    );
    reg(rt, "time_truncate", vec![T::String, T::String], |a, ctx| {
        let t = time_arg(ctx, "time_truncate", a, 0)?;
        let d = duration_arg(ctx, "time_truncate", a, 1)?;
        string(t.truncate(d).map_err(|e| fail(ctx, e))?.rfc3339())
    });
}

fn register_text(rt: &mut Runtime) {
    let string_or_number = || T::Union(vec![T::String, T::Number]);
    reg(
        rt,
        "regex_match",
        vec![T::String, string_or_number()],
        |a, ctx| {
            let re = regex_arg(ctx, "regex_match", a)?;
            boolean(re.is_match(&loose_arg(ctx, "regex_match", a, 1)?))
        },
    );
    reg(
        rt,
        "regex_replace_all",
        vec![T::String, string_or_number(), string_or_number()],
        |a, ctx| {
            let re = regex_arg(ctx, "regex_replace_all", a)?;
            let src = loose_arg(ctx, "regex_replace_all", a, 1)?;
            let repl = loose_arg(ctx, "regex_replace_all", a, 2)?;
            string(re.replace_all(&src, repl.as_str()).into_owned())
        },
    );
    reg(
        rt,
        "regex_replace_all_literal",
        vec![T::String, string_or_number(), string_or_number()],
        |a, ctx| {
            let re = regex_arg(ctx, "regex_replace_all_literal", a)?;
            let src = loose_arg(ctx, "regex_replace_all_literal", a, 1)?;
            let repl = loose_arg(ctx, "regex_replace_all_literal", a, 2)?;
            string(re.replace_all(&src, regex::NoExpand(&repl)).into_owned())
        },
    );
    reg(
        rt,
        "pattern_match",
        vec![T::String, string_or_number()],
        |a, ctx| {
            boolean(wildcard_match(
                &string_arg(a, 0),
                &loose_arg(ctx, "pattern_match", a, 1)?,
            ))
        },
    );
    reg(rt, "wildcard", vec![T::String, T::String], |a, _| {
        boolean(wildcard_match(&string_arg(a, 0), &string_arg(a, 1)))
    });
    reg(
        rt,
        "semver_compare",
        vec![T::String, T::String],
        |a, ctx| {
            semver_satisfies(&string_arg(a, 0), &string_arg(a, 1))
                .map_err(|e| fail(ctx, format!("semver_compare: {e}")))
                .and_then(boolean)
        },
    );
    reg(rt, "random", vec![T::String], |a, ctx| {
        super::regen::generate(&string_arg(a, 0))
            .map_err(|e| fail(ctx, format!("random: {e}")))
            .and_then(string)
    });
    reg(rt, "compare", vec![T::String, T::String], |a, ctx| {
        number(
            ctx,
            match string_arg(a, 0).cmp(&string_arg(a, 1)) {
                std::cmp::Ordering::Less => -1.0,
                std::cmp::Ordering::Equal => 0.0,
                std::cmp::Ordering::Greater => 1.0,
            },
        )
    });
    reg(
        rt,
        "replace",
        vec![T::String, T::String, T::String, T::Number],
        |a, _| {
            let (s, old, new) = (string_arg(a, 0), string_arg(a, 1), string_arg(a, 2));
            let n = a.get(3).and_then(|v| v.as_number()).unwrap_or(-1.0);
            string(if n < 0.0 {
                s.replace(&old, &new)
            } else {
                s.replacen(&old, &new, n as usize)
            })
        },
    );
    reg(rt, "round", vec![T::Number, T::Number], |a, ctx| {
        let v = a.first().and_then(|v| v.as_number()).unwrap_or(0.0);
        let digits = a.get(1).and_then(|v| v.as_number()).unwrap_or(0.0);
        if digits.fract() != 0.0 {
            return Err(fail(ctx, "round: the number of digits must be an integer"));
        }
        if digits < 0.0 {
            return Err(fail(
                ctx,
                "round: the number of digits must not be negative",
            ));
        }
        let shift = 10f64.powi(digits as i32);
        number(ctx, (v * shift).round() / shift)
    });
    reg(rt, "path_canonicalize", vec![T::String], |a, _| {
        string(clean_path(&string_arg(a, 0)))
    });
    reg(rt, "x_metrics_decode", vec![T::String], |a, ctx| {
        let now = jiff::Timestamp::now().as_millisecond();
        let v = super::metrics::decode(&string_arg(a, 0), now)
            .map_err(|e| fail(ctx, format!("x_metrics_decode: {e}")))?;
        to_var(ctx, v)
    });
    reg(rt, "x509_decode", vec![T::String], |a, ctx| {
        let v = super::x509::decode(&string_arg(a, 0))
            .map_err(|e| fail(ctx, format!("x509_decode: {e}")))?;
        to_var(ctx, v)
    });
}

fn json_of(ctx: &Context<'_>, v: &Rcvar) -> Result<Value, JmespathError> {
    serde_json::to_value(&**v).map_err(|e| fail(ctx, e.to_string()))
}

fn register_objects(rt: &mut Runtime) {
    reg(
        rt,
        "items",
        vec![T::Union(vec![T::Object, T::Array]), T::String, T::String],
        |a, ctx| {
            let (k, v) = (string_arg(a, 1), string_arg(a, 2));
            let input = a.first().map(|x| json_of(ctx, x)).transpose()?;
            let pair = |key: Value, value: Value| {
                let mut m = Map::new();
                m.insert(k.clone(), key);
                m.insert(v.clone(), value);
                Value::Object(m)
            };
            let out: Vec<Value> = match input {
                Some(Value::Object(map)) => {
                    // serde_json maps are sorted by key, as Kyverno sorts them.
                    map.into_iter()
                        .map(|(key, val)| pair(Value::String(key), val))
                        .collect()
                }
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, val)| pair(Value::from(i), val))
                    .collect(),
                _ => Vec::new(),
            };
            to_var(ctx, Value::Array(out))
        },
    );
    reg(
        rt,
        "object_from_lists",
        vec![T::Array, T::Array],
        |a, ctx| {
            let keys = a
                .first()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            let values = a
                .get(1)
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            let mut out = Map::new();
            for (i, key) in keys.iter().enumerate() {
                let key = loose_string(Some(key)).ok_or_else(|| {
                    fail(
                        ctx,
                        "object_from_lists: keys must be strings, numbers or booleans",
                    )
                })?;
                let value = values.get(i).map(|v| json_of(ctx, v)).transpose()?;
                out.insert(key, value.unwrap_or(Value::Null));
            }
            to_var(ctx, Value::Object(out))
        },
    );
    reg(rt, "label_match", vec![T::Object, T::Object], |a, ctx| {
        let labels = a
            .first()
            .map(|v| json_of(ctx, v))
            .transpose()?
            .unwrap_or_default();
        let against = a
            .get(1)
            .map(|v| json_of(ctx, v))
            .transpose()?
            .unwrap_or_default();
        let ok = labels
            .as_object()
            .map(|m| m.iter().all(|(k, v)| against.get(k) == Some(v)))
            .unwrap_or(false);
        boolean(ok)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::expr::{Bindings, eval_str};
    use rstest::rstest;
    use serde_json::json;

    fn eval(src: &str) -> Value {
        eval_str(
            src,
            &json!({"labels": {"app": "web", "tier": "fe"}}),
            &Bindings::new(),
        )
        .unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[rstest]
    #[case("time_add('2024-01-02T03:04:05Z', '1h30m')", json!("2024-01-02T04:34:05Z"))]
    #[case("time_add('2024-01-02T03:04:05+02:00', '-5s')", json!("2024-01-02T03:04:00+02:00"))]
    #[case("time_parse('2006-01-02', '2023-07-14')", json!("2023-07-14T00:00:00Z"))]
    #[case("time_parse('1136239445', '1700000000')", json!("2023-11-14T22:13:20Z"))]
    #[case("time_since('', '2024-01-01T00:00:00Z', '2024-01-01T01:30:00Z')", json!("1h30m0s"))]
    #[case("time_since('2006-01-02', '2024-01-01', '2024-01-03')", json!("48h0m0s"))]
    #[case("time_diff('2024-01-01T00:00:10Z', '2024-01-01T00:00:00Z')", json!("-10s"))]
    #[case("time_before('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')", json!(true))]
    #[case("time_after('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')", json!(false))]
    #[case("time_between('2024-01-02T00:00:00Z', '2024-01-01T00:00:00Z', '2024-01-03T00:00:00Z')", json!(true))]
    #[case("time_between('2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', '2024-01-03T00:00:00Z')", json!(false))]
    #[case("time_truncate('2024-01-02T03:34:05Z', '1h')", json!("2024-01-02T03:00:00Z"))]
    #[case("time_to_cron('2024-01-02T03:04:05Z')", json!("4 3 2 1 2"))]
    #[case("time_utc('2024-01-02T03:04:05+02:00')", json!("2024-01-02T01:04:05Z"))]
    #[case("semver_compare('1.2.3', '>=1.0.0 <2.0.0')", json!(true))]
    #[case("semver_compare('2.1.0', '>=1.0.0 <2.0.0 || 2.1.0')", json!(true))]
    #[case("semver_compare('2.2.0', '>=1.0.0 <2.0.0 || 2.1.0')", json!(false))]
    #[case("semver_compare('1.2.3', '!=1.2.3')", json!(false))]
    #[case("regex_match('^v[0-9]+$', 'v12')", json!(true))]
    #[case("regex_match('^1', `12`)", json!(true))]
    #[case("regex_replace_all('([a-z])-', 'a-b-c', '${1}_')", json!("a_b_c"))]
    #[case("regex_replace_all_literal('[a-z]', 'a1', '$1')", json!("$11"))]
    #[case("pattern_match('web-*', 'web-1')", json!(true))]
    #[case("pattern_match('web-?', 'web-10')", json!(false))]
    #[case("wildcard('*.example.com', 'a.example.com')", json!(true))]
    #[case("compare('a', 'b')", json!(-1))]
    #[case("compare('b', 'b')", json!(0))]
    #[case("replace('aaa', 'a', 'b', `2`)", json!("bba"))]
    #[case("replace('aaa', 'a', 'b', `-1`)", json!("bbb"))]
    #[case("round(`2.71828`, `2`)", json!(2.72))]
    #[case("round(`2.5`, `0`)", json!(3))]
    #[case("path_canonicalize('/a/b/../c/./d//')", json!("/a/c/d"))]
    #[case("path_canonicalize('../a/..')", json!(".."))]
    #[case("items(labels, 'key', 'value')", json!([{"key": "app", "value": "web"}, {"key": "tier", "value": "fe"}]))]
    #[case("items(['x', 'y'], 'i', 'v')", json!([{"i": 0, "v": "x"}, {"i": 1, "v": "y"}]))]
    #[case("object_from_lists(['a', 'b'], [`1`])", json!({"a": 1, "b": null}))]
    #[case("label_match({app: 'web'}, labels)", json!(true))]
    #[case("label_match({app: 'db'}, labels)", json!(false))]
    #[case("length(random('[a-z]{8}'))", json!(8))]
    #[case("x_metrics_decode('up{job=\"a\"} 1 1000')[0].value", json!([1.0, "1"]))]
    #[case("to_string(`1`)", json!("1"))]
    #[case("to_number('2.5')", json!(2.5))]
    #[case("sum([`1`, `2`])", json!(3))]
    fn functions_follow_kyverno(#[case] src: &str, #[case] expected: Value) {
        assert_eq!(eval(src), expected, "{src}");
    }

    #[rstest]
    #[case("time_add('yesterday', '1h')")]
    #[case("time_add('2024-01-02T03:04:05Z', 'soon')")]
    #[case("regex_match('(', 'x')")]
    #[case("semver_compare('1.0.0', '>=x')")]
    #[case("round(`1.5`, `-1`)")]
    #[case("random('')")]
    #[case("x_metrics_decode('bad line here now')")]
    #[case("x509_decode('no PEM here')")]
    fn bad_arguments_are_errors(#[case] src: &str) {
        assert!(
            eval_str(src, &json!(null), &Bindings::new()).is_err(),
            "{src}"
        );
    }

    #[test]
    fn x509_decode_is_reachable_from_jmespath() {
        let rsa = rcgen::KeyPair::from_pem_and_sign_algo(
            include_str!("x509-test-key.pem"),
            &rcgen::PKCS_RSA_SHA256,
        )
        .unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["x.example".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "jp");
        let cert = params.self_signed(&rsa).unwrap();
        let b = Bindings::new().with("pem", json!(cert.pem()));
        let got = eval_str(
            "x509_decode($pem).[Subject.CommonName, DNSNames[0]]",
            &json!(null),
            &b,
        )
        .unwrap();
        assert_eq!(got, json!(["jp", "x.example"]));
        // rcgen's default key is ECDSA, which Kyverno's x509_decode rejects.
        let ec = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
        let b = Bindings::new().with("pem", json!(ec.cert.pem()));
        let err = eval_str("x509_decode($pem)", &json!(null), &b).unwrap_err();
        assert!(err.to_string().contains("rsa"), "{err}");
    }

    #[test]
    fn now_is_rfc3339() {
        let now = eval("time_now_utc()");
        let s = now.as_str().unwrap();
        assert!(s.ends_with('Z') && s.len() == 20, "{s}");
        assert!(GoTime::parse_rfc3339(eval("time_now()").as_str().unwrap()).is_ok());
    }
}
