//! kanon's JMESPath functions on top of the standard ones: Chainsaw's common string,
//! encoding and parsing helpers, `$name` lookup, and the `x_k8s_*` cluster functions.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use jmespath::functions::{ArgumentType, CustomFunction, Signature};
use jmespath::{Context, ErrorReason, JmespathError, Rcvar, Runtime, Variable};
use serde_json::Value;

use super::Bindings;

/// Looks objects up in the cluster for `x_k8s_get`, `x_k8s_list` and `x_k8s_exists`.
///
/// Calls are synchronous: the engine implements this over its watch caches (or a
/// blocking client call). `namespace` is empty for cluster-scoped kinds. Errors are
/// plain messages, surfaced as expression evaluation errors.
pub trait ClusterLookup: Send + Sync {
    /// The object, or `None` when it does not exist.
    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String>;

    /// Every object of the kind in the namespace (all namespaces when empty).
    fn list(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<Value>, String>;

    /// Whether the cluster serves `kind` in `api_version` (`x_k8s_resource_exists`).
    fn resource_exists(&self, api_version: &str, kind: &str) -> Result<bool, String> {
        let _ = (api_version, kind);
        Err("this cluster lookup cannot list served resources".into())
    }

    /// The server's `/version` document (`x_k8s_server_version`).
    fn server_version(&self) -> Result<Value, String> {
        Err("this cluster lookup cannot read the server version".into())
    }
}

/// Name of the internal function `$name` references are rewritten to.
pub(crate) const VAR_FN: &str = "__kanon_binding";

/// Names of the functions kanon adds (besides the JMESPath standard library).
pub const EXTRA_FUNCTIONS: &[&str] = &[
    "env",
    "base64_decode",
    "base64_encode",
    "to_upper",
    "to_lower",
    "trim_space",
    "split",
    "concat",
    "parse_json",
    "parse_yaml",
    "x_k8s_get",
    "x_k8s_list",
    "x_k8s_exists",
    "upper",
    "lower",
    "trim",
    "trim_left",
    "trim_right",
    "trim_prefix",
    "replace_all",
    "equal_fold",
    "truncate",
    "as_string",
    "to_boolean",
    "json_parse",
    "lookup",
    "add",
    "subtract",
    "multiply",
    "divide",
    "modulo",
    "sum",
    "x_k8s_resource_exists",
    "x_k8s_server_version",
    "time_now",
    "time_now_utc",
    "time_add",
    "time_parse",
    "time_since",
    "time_after",
    "time_before",
    "time_between",
    "time_diff",
    "time_truncate",
    "time_to_cron",
    "time_utc",
    "semver_compare",
    "regex_match",
    "regex_replace_all",
    "regex_replace_all_literal",
    "pattern_match",
    "wildcard",
    "random",
    "x_metrics_decode",
    "x509_decode",
    "items",
    "object_from_lists",
    "compare",
    "replace",
    "round",
    "label_match",
    "path_canonicalize",
];

pub(super) fn fail(ctx: &Context<'_>, message: impl Into<String>) -> JmespathError {
    JmespathError::from_ctx(ctx, ErrorReason::Parse(message.into()))
}

pub(super) fn to_var(ctx: &Context<'_>, v: Value) -> Result<Rcvar, JmespathError> {
    Variable::try_from(v)
        .map(Rcvar::new)
        .map_err(|e| fail(ctx, e.to_string()))
}

pub(super) fn string_arg(args: &[Rcvar], i: usize) -> String {
    args.get(i)
        .and_then(|a| a.as_string().cloned())
        .unwrap_or_default()
}

pub(super) fn string_fn(
    runtime: &mut Runtime,
    name: &str,
    f: impl Fn(&str) -> Result<String, String> + Send + Sync + 'static,
) {
    runtime.register_function(
        name,
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let s = string_arg(args, 0);
                f(&s)
                    .map(|out| Rcvar::new(Variable::String(out)))
                    .map_err(|m| fail(ctx, m))
            }),
        )),
    );
}

thread_local! {
    /// The bindings of the evaluation running on this thread (evaluation is synchronous).
    static CURRENT: RefCell<Option<Bindings>> = const { RefCell::new(None) };
}

/// Runs `f` with `bindings` visible to `$name` lookups and `x_k8s_*` functions.
pub(crate) fn with_bindings<R>(bindings: &Bindings, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(Some(bindings.clone())));
    let result = f();
    CURRENT.with(|c| *c.borrow_mut() = previous);
    result
}

fn current_binding(name: &str) -> Option<Value> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|b| b.get(name).cloned()))
}

fn current_cluster() -> Option<Arc<dyn ClusterLookup>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|b| b.cluster().cloned()))
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(build_runtime);

/// The shared runtime: standard functions plus kanon's; bindings are read from the
/// evaluation in progress on the current thread (see [`with_bindings`]).
pub(crate) fn runtime() -> &'static Runtime {
    &RUNTIME
}

fn build_runtime() -> Runtime {
    let mut rt = Runtime::new();
    rt.register_builtin_functions();

    rt.register_function(
        VAR_FN,
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let name = string_arg(args, 0);
                match current_binding(&name) {
                    Some(v) => to_var(ctx, v),
                    None => Err(fail(ctx, format!("binding `${name}` is not defined"))),
                }
            }),
        )),
    );

    string_fn(&mut rt, "to_upper", |s| Ok(s.to_uppercase()));
    string_fn(&mut rt, "to_lower", |s| Ok(s.to_lowercase()));
    string_fn(&mut rt, "trim_space", |s| Ok(s.trim().to_string()));
    string_fn(&mut rt, "base64_encode", |s| {
        Ok(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
    });
    string_fn(&mut rt, "base64_decode", |s| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| format!("base64_decode: {e}"))?;
        String::from_utf8(bytes)
            .map_err(|_| "base64_decode: decoded bytes are not UTF-8".to_string())
    });

    rt.register_function(
        "env",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(|args: &[Rcvar], _ctx: &mut Context<'_>| {
                Ok(Rcvar::new(match std::env::var(string_arg(args, 0)) {
                    Ok(v) => Variable::String(v),
                    Err(_) => Variable::Null,
                }))
            }),
        )),
    );

    rt.register_function(
        "split",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String, ArgumentType::String], None),
            Box::new(|args: &[Rcvar], _ctx: &mut Context<'_>| {
                let s = string_arg(args, 0);
                let sep = string_arg(args, 1);
                Ok(Rcvar::new(Variable::Array(
                    s.split(sep.as_str())
                        .map(|p| Rcvar::new(Variable::String(p.to_string())))
                        .collect(),
                )))
            }),
        )),
    );

    rt.register_function(
        "concat",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String, ArgumentType::String], None),
            Box::new(|args: &[Rcvar], _ctx: &mut Context<'_>| {
                Ok(Rcvar::new(Variable::String(
                    string_arg(args, 0) + &string_arg(args, 1),
                )))
            }),
        )),
    );

    rt.register_function(
        "parse_json",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(|args: &[Rcvar], ctx: &mut Context<'_>| {
                let v: Value = serde_json::from_str(&string_arg(args, 0))
                    .map_err(|e| fail(ctx, format!("parse_json: {e}")))?;
                to_var(ctx, v)
            }),
        )),
    );

    rt.register_function(
        "parse_yaml",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::String], None),
            Box::new(|args: &[Rcvar], ctx: &mut Context<'_>| {
                let v: Value = serde_saphyr::from_str(&string_arg(args, 0))
                    .map_err(|e| fail(ctx, format!("parse_yaml: {}", e.without_snippet())))?;
                to_var(ctx, v)
            }),
        )),
    );

    register_extras(&mut rt);
    register_arithmetic(&mut rt);
    register_k8s(&mut rt);
    super::kyverno::register(&mut rt);
    rt
}

pub(super) fn reg(
    rt: &mut Runtime,
    name: &str,
    args: Vec<ArgumentType>,
    f: impl Fn(&[Rcvar], &mut Context<'_>) -> Result<Rcvar, JmespathError> + Send + Sync + 'static,
) {
    rt.register_function(
        name,
        Box::new(CustomFunction::new(Signature::new(args, None), Box::new(f))),
    );
}

pub(super) fn string(s: String) -> Result<Rcvar, JmespathError> {
    Ok(Rcvar::new(Variable::String(s)))
}

pub(super) fn number(ctx: &Context<'_>, v: f64) -> Result<Rcvar, JmespathError> {
    let n = if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Number::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .ok_or_else(|| fail(ctx, "arithmetic result is not a finite number"))?
    };
    Ok(Rcvar::new(Variable::Number(n)))
}

/// The hidden functions arithmetic operators are parsed into (see [`super::parser`]),
/// with go-jmespath-community's semantics: on numbers only (any other operand, `null`
/// included, makes the result `null`), in 64-bit floating point; `%` is Go's
/// `math.Mod` (the sign of the dividend), `//` the floor of the quotient. An integral
/// result is an integer (`` `4` / `2` `` is `2`). A zero divisor (Go gives ±Inf or NaN,
/// which JSON cannot hold) and a result out of range are errors.
fn register_arithmetic(rt: &mut Runtime) {
    use super::parser::{
        ADD, DIVIDE, FLOOR_DIVIDE, MODULO, MULTIPLY, NEGATE, OPERATORS, SUBTRACT, UNARY_PLUS,
    };
    for &(name, op, arity) in OPERATORS {
        reg(
            rt,
            name,
            vec![ArgumentType::Any; arity],
            move |args, ctx| {
                let Some(n) = args
                    .iter()
                    .map(|a| a.as_number())
                    .collect::<Option<Vec<f64>>>()
                else {
                    return Ok(Rcvar::new(Variable::Null));
                };
                let divisor = || {
                    if n[1] == 0.0 {
                        Err(fail(
                            ctx,
                            format!("division by zero in `{} {op} {}`", n[0], n[1]),
                        ))
                    } else {
                        Ok(n[1])
                    }
                };
                let v = match name {
                    ADD => n[0] + n[1],
                    SUBTRACT => n[0] - n[1],
                    MULTIPLY => n[0] * n[1],
                    DIVIDE => n[0] / divisor()?,
                    MODULO => n[0] % divisor()?,
                    FLOOR_DIVIDE => (n[0] / divisor()?).floor(),
                    NEGATE => -n[0],
                    UNARY_PLUS => n[0],
                    _ => return Err(fail(ctx, format!("unknown arithmetic function {name}"))),
                };
                number(ctx, v)
            },
        );
    }
}

fn register_extras(rt: &mut Runtime) {
    use ArgumentType as T;
    string_fn(rt, "upper", |s| Ok(s.to_uppercase()));
    string_fn(rt, "lower", |s| Ok(s.to_lowercase()));
    reg(rt, "trim", vec![T::String, T::String], |a, _| {
        let cut = string_arg(a, 1);
        string(
            string_arg(a, 0)
                .trim_matches(|c| cut.contains(c))
                .to_string(),
        )
    });
    reg(rt, "trim_left", vec![T::String, T::String], |a, _| {
        let cut = string_arg(a, 1);
        string(
            string_arg(a, 0)
                .trim_start_matches(|c| cut.contains(c))
                .to_string(),
        )
    });
    reg(rt, "trim_right", vec![T::String, T::String], |a, _| {
        let cut = string_arg(a, 1);
        string(
            string_arg(a, 0)
                .trim_end_matches(|c| cut.contains(c))
                .to_string(),
        )
    });
    reg(rt, "trim_prefix", vec![T::String, T::String], |a, _| {
        let s = string_arg(a, 0);
        let p = string_arg(a, 1);
        string(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string())
    });
    reg(
        rt,
        "replace_all",
        vec![T::String, T::String, T::String],
        |a, _| string(string_arg(a, 0).replace(&string_arg(a, 1), &string_arg(a, 2))),
    );
    reg(rt, "equal_fold", vec![T::String, T::String], |a, _| {
        Ok(Rcvar::new(Variable::Bool(
            string_arg(a, 0).to_lowercase() == string_arg(a, 1).to_lowercase(),
        )))
    });
    reg(rt, "truncate", vec![T::String, T::Number], |a, _| {
        let n = a.get(1).and_then(|v| v.as_number()).unwrap_or(0.0).max(0.0) as usize;
        string(string_arg(a, 0).chars().take(n).collect())
    });
    reg(rt, "as_string", vec![T::Any], |a, _| {
        Ok(Rcvar::new(match a.first().and_then(|v| v.as_string()) {
            Some(s) => Variable::String(s.clone()),
            None => Variable::Null,
        }))
    });
    reg(
        rt,
        "to_boolean",
        vec![T::String],
        |a, ctx| match string_arg(a, 0).to_lowercase().as_str() {
            "true" => Ok(Rcvar::new(Variable::Bool(true))),
            "false" => Ok(Rcvar::new(Variable::Bool(false))),
            other => Err(fail(
                ctx,
                format!("to_boolean: {other:?} is neither true nor false"),
            )),
        },
    );
    reg(rt, "json_parse", vec![T::String], |a, ctx| {
        let v: Value = serde_json::from_str(&string_arg(a, 0))
            .map_err(|e| fail(ctx, format!("json_parse: {e}")))?;
        to_var(ctx, v)
    });
    reg(
        rt,
        "lookup",
        vec![
            T::Union(vec![T::Object, T::Array]),
            T::Union(vec![T::String, T::Number]),
        ],
        |a, _| {
            let (Some(subject), Some(key)) = (a.first(), a.get(1)) else {
                return Ok(Rcvar::new(Variable::Null));
            };
            let found = match (subject.as_object(), subject.as_array()) {
                (Some(map), _) => key.as_string().and_then(|k| map.get(k)).cloned(),
                (_, Some(items)) => key
                    .as_number()
                    .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                    .and_then(|n| items.get(n as usize))
                    .cloned(),
                _ => None,
            };
            Ok(found.unwrap_or_else(|| Rcvar::new(Variable::Null)))
        },
    );
    for name in ["add", "subtract", "multiply", "divide", "modulo"] {
        reg(rt, name, vec![T::Any, T::Any], move |a, ctx| {
            // Only numbers and strings matter; anything else is an invalid operand.
            let value = |i: usize| -> Value {
                match a.get(i) {
                    Some(v) if v.as_string().is_some() => {
                        Value::String(v.as_string().cloned().unwrap_or_default())
                    }
                    Some(v) => v
                        .as_number()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(Value::Null, Value::Number),
                    None => Value::Null,
                }
            };
            match kyverno_arithmetic(name, &value(0), &value(1)) {
                Ok(Arith::Number(n)) => number(ctx, n),
                Ok(Arith::Text(s)) => string(s),
                Err(e) => Err(fail(ctx, e)),
            }
        });
    }
    reg(rt, "sum", vec![T::Any], |a, ctx| {
        let items = a
            .first()
            .and_then(|v| serde_json::to_value(&**v).ok())
            .unwrap_or(Value::Null);
        kyverno_sum(&items)
            .map_err(|e| fail(ctx, e))
            .and_then(|v| to_var(ctx, v))
    });
}

/// `sum`: JMESPath's (numbers; an empty list is 0) extended as Kyverno's: the items
/// added up with `add`'s rules (numbers, quantities or durations, not mixed), one item
/// returned as it is, a non-list an error. (Kyverno errs on an empty list where standard
/// JMESPath gives 0; the standard answer is kept.)
fn kyverno_sum(items: &Value) -> Result<Value, String> {
    let Value::Array(items) = items else {
        return Err("JMESPath function 'sum': Types mismatch".to_string());
    };
    let Some((first, rest)) = items.split_first() else {
        return Ok(Value::from(0));
    };
    rest.iter().try_fold(first.clone(), |acc, item| {
        match kyverno_arithmetic("add", &acc, item) {
            Ok(Arith::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                Ok(Value::from(n as i64))
            }
            Ok(Arith::Number(n)) => serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| "JMESPath function 'sum': the result is not finite".to_string()),
            Ok(Arith::Text(s)) => Ok(Value::String(s)),
            Err(e) => Err(e.replace("'add'", "'sum'")),
        }
    })
}

/// An operand of Kyverno's arithmetic functions (`ParseArithemticOperands`): a JSON
/// number is a scalar; a string is a Kubernetes quantity if it parses as one (so `'12'`
/// and `'1m'` are quantities), else a Go duration (`'1h30m'`, `'500ms'`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Operand {
    Scalar(f64),
    Quantity(super::quantity::Quantity),
    /// Nanoseconds (Go's `time.Duration`, an int64).
    Duration(i64),
}

/// What Kyverno's arithmetic functions return: a number, or a quantity or duration as
/// its string.
#[derive(Clone, Debug, PartialEq)]
enum Arith {
    Number(f64),
    Text(String),
}

fn operand(v: &Value) -> Option<Operand> {
    use super::quantity::Quantity;
    match v {
        Value::Number(n) => n.as_f64().map(Operand::Scalar),
        Value::String(s) => {
            if let Ok(q) = Quantity::parse(s) {
                return Some(Operand::Quantity(q));
            }
            // Go's time.ParseDuration: no surrounding space, one optional sign.
            let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
            if s.trim() != s || unsigned.starts_with(['+', '-']) {
                return None;
            }
            let nanos = super::gotime::parse_signed_duration(s).ok()?;
            i64::try_from(nanos).ok().map(Operand::Duration)
        }
        _ => None,
    }
}

/// Go's `time.Duration.Seconds()`.
fn seconds(d: i64) -> f64 {
    (d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9
}

/// `time.Duration(seconds * float64(time.Second))`, as a Go duration string.
fn duration_of_seconds(s: f64) -> String {
    super::gotime::go_duration_string((s * 1e9) as i64 as i128)
}

/// A number as the quantity Kyverno makes of it: `resource.ParseQuantity(fmt.Sprintf("%v", f))`.
fn scalar_quantity(f: f64) -> Result<super::quantity::Quantity, String> {
    super::quantity::Quantity::parse(&super::quantity::go_float_v(f))
}

/// Kyverno's `add`, `subtract`, `multiply`, `divide` and `modulo`
/// (`pkg/engine/jmespath/arithmetic.go`) on two JSON values:
///
/// - `add`, `subtract`: number ± number, quantity ± quantity (exact, the first one's
///   format), duration ± duration; anything mixed is a type mismatch.
/// - `multiply`: number × number; quantity × number and number × quantity (a quantity,
///   exact); duration × number and number × duration (a duration, through float seconds).
/// - `divide`: number ÷ number; quantity ÷ quantity and duration ÷ duration (a number,
///   in floating point); quantity ÷ number (a quantity, truncated at the larger of the two
///   operands' decimal scales); duration ÷ number (a duration).
/// - `modulo`: on integral numbers (Go's truncated `%`), integral quantities (the first
///   one's format) and durations.
///
/// Errors are Kyverno's messages: `JMESPath function 'add': invalid operands` (an operand
/// neither a number, a quantity nor a duration), `...: Types mismatch`, `...: Zero divisor
/// passed`, `...: Non-integer argument(s) passed for modulo`.
fn kyverno_arithmetic(name: &str, x: &Value, y: &Value) -> Result<Arith, String> {
    use Operand::{Duration as D, Quantity as Q, Scalar as S};
    let err = |what: &str| format!("JMESPath function '{name}': {what}");
    let (Some(a), Some(b)) = (operand(x), operand(y)) else {
        return Err(err("invalid operands"));
    };
    let mismatch = || Err(err("Types mismatch"));
    let zero = || Err(err("Zero divisor passed"));
    let non_int = || Err(err("Non-integer argument(s) passed for modulo"));
    let text = |q: super::quantity::Quantity| Ok(Arith::Text(q.canonical()));
    let dur = |d: i64| Ok(Arith::Text(super::gotime::go_duration_string(d as i128)));
    match (name, a, b) {
        ("add", S(a), S(b)) => Ok(Arith::Number(a + b)),
        ("add", Q(a), Q(b)) => text(a.add(&b).map_err(|e| err(&e))?),
        ("add", D(a), D(b)) => dur(a.wrapping_add(b)),
        ("subtract", S(a), S(b)) => Ok(Arith::Number(a - b)),
        ("subtract", Q(a), Q(b)) => text(a.sub(&b).map_err(|e| err(&e))?),
        ("subtract", D(a), D(b)) => dur(a.wrapping_sub(b)),
        ("multiply", S(a), S(b)) => Ok(Arith::Number(a * b)),
        ("multiply", Q(q), S(f)) | ("multiply", S(f), Q(q)) => {
            let f = scalar_quantity(f).map_err(|e| err(&e))?;
            text(q.mul(&f).map_err(|e| err(&e))?)
        }
        ("multiply", D(d), S(f)) | ("multiply", S(f), D(d)) => {
            Ok(Arith::Text(duration_of_seconds(seconds(d) * f)))
        }
        ("divide", S(_), S(0.0)) => zero(),
        ("divide", S(a), S(b)) => Ok(Arith::Number(a / b)),
        ("divide", Q(a), Q(b)) => {
            let divisor = b.approx_f64();
            if divisor == 0.0 {
                return zero();
            }
            Ok(Arith::Number(a.approx_f64() / divisor))
        }
        ("divide", Q(_), S(0.0)) => zero(),
        ("divide", Q(a), S(b)) => {
            let b = scalar_quantity(b).map_err(|e| err(&e))?;
            let scale = a.scale.max(b.scale);
            text(a.quo_round_down(&b, scale).map_err(|e| err(&e))?)
        }
        ("divide", D(a), D(b)) => {
            if seconds(b) == 0.0 {
                return zero();
            }
            Ok(Arith::Number(seconds(a) / seconds(b)))
        }
        ("divide", D(_), S(0.0)) => zero(),
        ("divide", D(a), S(b)) => Ok(Arith::Text(duration_of_seconds(seconds(a) / b))),
        ("modulo", S(a), S(b)) => {
            let (i, j) = (a as i64, b as i64);
            if a != i as f64 || b != j as f64 {
                return non_int();
            }
            if j == 0 {
                return zero();
            }
            Ok(Arith::Number(i.wrapping_rem(j) as f64))
        }
        ("modulo", Q(a), Q(b)) => {
            let (f, g) = (a.approx_f64(), b.approx_f64());
            let (i, j) = (f as i64, g as i64);
            if f != i as f64 || g != j as f64 {
                return non_int();
            }
            if j == 0 {
                return zero();
            }
            text(super::quantity::Quantity {
                unscaled: i.wrapping_rem(j) as i128,
                scale: 0,
                format: a.format,
            })
        }
        ("modulo", D(_), D(0)) => zero(),
        ("modulo", D(a), D(b)) => dur(a.wrapping_rem(b)),
        _ => mismatch(),
    }
}

fn no_cluster(ctx: &Context<'_>, name: &str) -> JmespathError {
    fail(
        ctx,
        format!("{name}: no cluster is available to this expression"),
    )
}

fn register_k8s(rt: &mut Runtime) {
    let any_and_strings = |n: usize| {
        let mut v = vec![ArgumentType::Any];
        v.extend(std::iter::repeat_n(ArgumentType::String, n));
        Signature::new(v, None)
    };

    rt.register_function(
        "x_k8s_get",
        Box::new(CustomFunction::new(
            any_and_strings(4),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let c = current_cluster().ok_or_else(|| no_cluster(ctx, "x_k8s_get"))?;
                let (av, kind, ns, name) = (
                    string_arg(args, 1),
                    string_arg(args, 2),
                    string_arg(args, 3),
                    string_arg(args, 4),
                );
                match c.get(&av, &kind, &ns, &name) {
                    Ok(Some(v)) => to_var(ctx, v),
                    Ok(None) => Err(fail(
                        ctx,
                        format!("x_k8s_get: {kind} {ns}/{name} ({av}) not found"),
                    )),
                    Err(e) => Err(fail(ctx, format!("x_k8s_get: {e}"))),
                }
            }),
        )),
    );

    rt.register_function(
        "x_k8s_exists",
        Box::new(CustomFunction::new(
            any_and_strings(4),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let c = current_cluster().ok_or_else(|| no_cluster(ctx, "x_k8s_exists"))?;
                c.get(
                    &string_arg(args, 1),
                    &string_arg(args, 2),
                    &string_arg(args, 3),
                    &string_arg(args, 4),
                )
                .map(|o| Rcvar::new(Variable::Bool(o.is_some())))
                .map_err(|e| fail(ctx, format!("x_k8s_exists: {e}")))
            }),
        )),
    );

    rt.register_function(
        "x_k8s_resource_exists",
        Box::new(CustomFunction::new(
            any_and_strings(2),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let c =
                    current_cluster().ok_or_else(|| no_cluster(ctx, "x_k8s_resource_exists"))?;
                c.resource_exists(&string_arg(args, 1), &string_arg(args, 2))
                    .map(|b| Rcvar::new(Variable::Bool(b)))
                    .map_err(|e| fail(ctx, format!("x_k8s_resource_exists: {e}")))
            }),
        )),
    );

    rt.register_function(
        "x_k8s_server_version",
        Box::new(CustomFunction::new(
            Signature::new(vec![ArgumentType::Any], None),
            Box::new(move |_args: &[Rcvar], ctx: &mut Context<'_>| {
                let c = current_cluster().ok_or_else(|| no_cluster(ctx, "x_k8s_server_version"))?;
                let v = c
                    .server_version()
                    .map_err(|e| fail(ctx, format!("x_k8s_server_version: {e}")))?;
                to_var(ctx, v)
            }),
        )),
    );

    rt.register_function(
        "x_k8s_list",
        Box::new(CustomFunction::new(
            any_and_strings(3),
            Box::new(move |args: &[Rcvar], ctx: &mut Context<'_>| {
                let c = current_cluster().ok_or_else(|| no_cluster(ctx, "x_k8s_list"))?;
                let items = c
                    .list(
                        &string_arg(args, 1),
                        &string_arg(args, 2),
                        &string_arg(args, 3),
                    )
                    .map_err(|e| fail(ctx, format!("x_k8s_list: {e}")))?;
                to_var(ctx, serde_json::json!({ "items": items }))
            }),
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!([1, 2, 3.5]), Ok(json!(6.5)))]
    #[case(json!(["1Gi", "512Mi"]), Ok(json!("1536Mi")))]
    #[case(json!(["1h", "30m0s", "15m0s"]), Ok(json!("1h45m0s")))]
    #[case(json!(["only"]), Ok(json!("only")))]
    #[case(json!([]), Ok(json!(0)))]
    #[case(json!([1, "1Gi"]), Err("JMESPath function 'sum': Types mismatch"))]
    #[case(json!("1Gi"), Err("JMESPath function 'sum': Types mismatch"))]
    fn sum_adds_up_a_list(#[case] items: Value, #[case] expected: Result<Value, &str>) {
        match (kyverno_sum(&items), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(want)) => assert!(e.contains(want), "{e}"),
            (got, want) => panic!("{items}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn sum_in_an_expression_extends_the_standard_one() {
        let eval = |e: &str| crate::expr::eval_str(e, &json!({}), &crate::expr::Bindings::new());
        assert_eq!(eval("sum(`[1, 2]`)").unwrap(), json!(3));
        assert_eq!(eval("sum(`[]`)").unwrap(), json!(0));
        assert_eq!(eval("sum(['1Gi', '512Mi'])").unwrap(), json!("1536Mi"));
    }

    fn arith(name: &str, x: Value, y: Value) -> Result<Arith, String> {
        kyverno_arithmetic(name, &x, &y)
    }

    fn n(v: f64) -> Result<Arith, String> {
        Ok(Arith::Number(v))
    }

    fn t(s: &str) -> Result<Arith, String> {
        Ok(Arith::Text(s.into()))
    }

    // Kyverno's arithmetic_test.go cases, and more.
    #[rstest]
    // add
    #[case("add", json!(12), json!(13), n(25.0))]
    #[case("add", json!(1.5), json!(-0.25), n(1.25))]
    #[case("add", json!("12Ki"), json!("13Ki"), t("25Ki"))]
    #[case("add", json!("12Ki"), json!("13"), t("12301"))]
    #[case("add", json!("1Gi"), json!("512Mi"), t("1536Mi"))]
    #[case("add", json!("1"), json!("500m"), t("1500m"))]
    #[case("add", json!("1m"), json!("1m"), t("2m"))]
    #[case("add", json!("0"), json!("1Ki"), t("1Ki"))]
    #[case("add", json!("1e3"), json!("1"), t("1001"))]
    #[case("add", json!("1k"), json!("1e3"), t("2k"))]
    #[case("add", json!("12s"), json!("13s"), t("25s"))]
    #[case("add", json!("1h"), json!("30m0s"), t("1h30m0s"))]
    #[case("add", json!("500ms"), json!("1.5s"), t("2s"))]
    #[case("add", json!("-1h"), json!("30m0s"), t("-30m0s"))]
    // subtract
    #[case("subtract", json!(12), json!(13), n(-1.0))]
    #[case("subtract", json!("12Ki"), json!("13Ki"), t("-1Ki"))]
    #[case("subtract", json!("12Ki"), json!("13"), t("12275"))]
    #[case("subtract", json!("1"), json!("1"), t("0"))]
    #[case("subtract", json!("12s"), json!("13s"), t("-1s"))]
    #[case("subtract", json!("1h"), json!("1ms"), t("59m59.999s"))]
    // multiply
    #[case("multiply", json!(2.5), json!(2.5), n(6.25))]
    #[case("multiply", json!("12Ki"), json!(2), t("24Ki"))]
    #[case("multiply", json!(2.5), json!("12Ki"), t("30Ki"))]
    #[case("multiply", json!(2.5), json!("12"), t("30"))]
    #[case("multiply", json!("100m"), json!(3), t("300m"))]
    #[case("multiply", json!("1Gi"), json!(0.5), t("512Mi"))]
    #[case("multiply", json!("1Gi"), json!(1e6), t("1000000Gi"))]
    #[case("multiply", json!("12s"), json!(2), t("24s"))]
    #[case("multiply", json!(2.5), json!("40s"), t("1m40s"))]
    #[case("multiply", json!("1h"), json!(0.5), t("30m0s"))]
    // divide
    #[case("divide", json!(14), json!(3), n(14.0 / 3.0))]
    #[case("divide", json!("256M"), json!("256M"), n(1.0))]
    #[case("divide", json!("512M"), json!("256M"), n(2.0))]
    #[case("divide", json!("8"), json!("3"), n(8.0 / 3.0))]
    #[case("divide", json!("128M"), json!("256M"), n(0.5))]
    #[case("divide", json!("12Ki"), json!(3), t("4Ki"))]
    #[case("divide", json!("12Ki"), json!("2Ki"), n(6.0))]
    #[case("divide", json!("12Ki"), json!("200"), n(61.44))]
    #[case("divide", json!("1Mi"), json!("2Mi"), n(0.5))]
    #[case("divide", json!("10"), json!(3), t("3"))]
    #[case("divide", json!("10"), json!(2.5), t("4"))]
    #[case("divide", json!("1"), json!(3.0), t("0"))]
    #[case("divide", json!("1.0"), json!(3), t("300m"))]
    #[case("divide", json!("1.5Gi"), json!(2), t("768Mi"))]
    #[case("divide", json!("12s"), json!(3), t("4s"))]
    #[case("divide", json!("12s"), json!("5s"), n(2.4))]
    #[case("divide", json!("1h"), json!("2h"), n(0.5))]
    #[case("divide", json!("1h"), json!(7), t("8m34.285714285s"))]
    // modulo
    #[case("modulo", json!(13), json!(5), n(3.0))]
    #[case("modulo", json!(-13), json!(5), n(-3.0))]
    #[case("modulo", json!("12Ki"), json!("5Ki"), t("2Ki"))]
    #[case("modulo", json!("10"), json!("3"), t("1"))]
    #[case("modulo", json!("13s"), json!("2s"), t("1s"))]
    #[case("modulo", json!("1h"), json!("7m0s"), t("4m0s"))]
    fn kyverno_arithmetic_results(
        #[case] name: &str,
        #[case] x: Value,
        #[case] y: Value,
        #[case] want: Result<Arith, String>,
    ) {
        assert_eq!(arith(name, x.clone(), y.clone()), want, "{name}({x}, {y})");
    }

    #[rstest]
    #[case("add", json!("12"), json!("13s"), "Types mismatch")]
    #[case("add", json!(12), json!("13Ki"), "Types mismatch")]
    #[case("add", json!(12), json!("13"), "Types mismatch")]
    #[case("add", json!("12Ki"), json!("13s"), "Types mismatch")]
    #[case("add", json!("12Ki"), json!(13), "Types mismatch")]
    #[case("add", json!("12s"), json!(13), "Types mismatch")]
    #[case("add", json!("12s"), json!("13"), "Types mismatch")]
    // "30m" is a quantity (30 milli), tried before durations, as in Kyverno.
    #[case("add", json!("1h"), json!("30m"), "Types mismatch")]
    #[case("add", json!("abc"), json!(1), "invalid operands")]
    #[case("add", json!(1), json!(null), "invalid operands")]
    #[case("add", json!(true), json!(1), "invalid operands")]
    #[case("add", json!([1]), json!(1), "invalid operands")]
    #[case("add", json!(" 1h"), json!("1h"), "invalid operands")]
    #[case("subtract", json!(12), json!("13"), "Types mismatch")]
    #[case("subtract", json!("12s"), json!("13Ki"), "Types mismatch")]
    #[case("multiply", json!("12Ki"), json!("12Ki"), "Types mismatch")]
    #[case("multiply", json!("12Ki"), json!("12"), "Types mismatch")]
    #[case("multiply", json!("12Ki"), json!("12s"), "Types mismatch")]
    #[case("multiply", json!("12s"), json!("12s"), "Types mismatch")]
    #[case("multiply", json!("12s"), json!("12"), "Types mismatch")]
    #[case("divide", json!("12Ki"), json!("2s"), "Types mismatch")]
    #[case("divide", json!("12s"), json!("4Ki"), "Types mismatch")]
    #[case("divide", json!("12s"), json!("4"), "Types mismatch")]
    #[case("divide", json!(14), json!("5s"), "Types mismatch")]
    #[case("divide", json!(14), json!("5"), "Types mismatch")]
    #[case("divide", json!(14), json!(0), "Zero divisor passed")]
    #[case("divide", json!("4Ki"), json!(0), "Zero divisor passed")]
    #[case("divide", json!("4Ki"), json!("0Ki"), "Zero divisor passed")]
    #[case("divide", json!("4"), json!("0"), "Zero divisor passed")]
    #[case("divide", json!("4s"), json!(0), "Zero divisor passed")]
    #[case("divide", json!("4s"), json!("0s"), "Zero divisor passed")]
    #[case("modulo", json!("12"), json!("13s"), "Types mismatch")]
    #[case("modulo", json!("12Ki"), json!(13), "Types mismatch")]
    #[case("modulo", json!("13s"), json!(2), "Types mismatch")]
    #[case("modulo", json!(13), json!("12"), "Types mismatch")]
    #[case("modulo", json!(14), json!(0), "Zero divisor passed")]
    #[case("modulo", json!("4Ki"), json!(0), "Types mismatch")]
    #[case("modulo", json!("4Ki"), json!("0Ki"), "Zero divisor passed")]
    #[case("modulo", json!("4s"), json!("0s"), "Zero divisor passed")]
    #[case("modulo", json!("4"), json!("1.5"), "Non-integer argument(s) passed for modulo")]
    #[case("modulo", json!("4.5"), json!("1"), "Non-integer argument(s) passed for modulo")]
    #[case("modulo", json!(14), json!(1.5), "Non-integer argument(s) passed for modulo")]
    #[case("modulo", json!(14.5), json!(2), "Non-integer argument(s) passed for modulo")]
    #[case("modulo", json!(14.5), json!(0), "Non-integer argument(s) passed for modulo")]
    fn kyverno_arithmetic_errors(
        #[case] name: &str,
        #[case] x: Value,
        #[case] y: Value,
        #[case] message: &str,
    ) {
        assert_eq!(
            arith(name, x.clone(), y.clone()),
            Err(format!("JMESPath function '{name}': {message}")),
            "{name}({x}, {y})"
        );
    }
}
