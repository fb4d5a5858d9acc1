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
    for (name, op) in [
        ("add", (|x, y| x + y) as fn(f64, f64) -> f64),
        ("subtract", |x, y| x - y),
        ("multiply", |x, y| x * y),
        ("divide", |x, y| x / y),
        ("modulo", |x, y| x % y),
    ] {
        reg(rt, name, vec![T::Number, T::Number], move |a, ctx| {
            let x = a.first().and_then(|v| v.as_number()).unwrap_or(0.0);
            let y = a.get(1).and_then(|v| v.as_number()).unwrap_or(0.0);
            if (name == "divide" || name == "modulo") && y == 0.0 {
                return Err(fail(ctx, format!("{name}: division by zero")));
            }
            number(ctx, op(x, y))
        });
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
