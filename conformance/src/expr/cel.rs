//! Chainsaw's CEL compiler (`(cel;expr)`), backed by the `cel` crate.
//!
//! As in Chainsaw (kyverno-json's CEL compiler), a CEL expression sees two variables:
//!
//! - `object`: the current value (what `@` is in JMESPath);
//! - `bindings`: the bindings in scope; `bindings.resolve('name')` returns the value of
//!   `$name` (the `$` is optional) and fails when it is not bound. As a convenience,
//!   `bindings.name` and `bindings['name']` also work.
//!
//! The standard CEL library and macros are available (`has`, `all`, `exists`, `map`,
//! `filter`, `size`, `matches`, `startsWith`...), plus the `strings`, `lists`, `math`
//! and `encoders` extensions. Values cross the boundary as JSON: integers stay
//! integers, durations become nanoseconds and timestamps RFC 3339 strings.

use std::sync::{Arc, LazyLock};

use cel::extractors::This;
use cel::objects::Map;
use cel::{Context, Env, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

use super::{Bindings, ExprError};

/// The shared environment: the standard library and the extensions kyverno-json enables
/// (or their closest `cel` crate counterparts).
static ENV: LazyLock<Option<Arc<Env>>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings).ok()?;
    env.add_extension(cel::extensions::lists).ok()?;
    env.add_extension(cel::extensions::math).ok()?;
    env.add_extension(cel::extensions::encoders).ok()?;
    Some(Arc::new(env))
});

fn env() -> Arc<Env> {
    match ENV.as_ref() {
        Some(env) => env.clone(),
        // An extension that fails to register is a bug in the crate; fall back to
        // the standard library rather than panic.
        None => Arc::new(Env::stdlib()),
    }
}

/// A compiled CEL program.
pub(crate) struct CelProgram {
    program: Program,
}

impl CelProgram {
    /// Parses `source`; a syntax error carries the character offset in `source`.
    pub(crate) fn compile(source: &str) -> Result<CelProgram, ExprError> {
        if source.trim().is_empty() {
            return Err(ExprError::Parse {
                offset: 0,
                message: "empty expression".to_string(),
            });
        }
        // The parser is a generated ANTLR one: keep a bug in it from taking the
        // process down with it.
        let parsed =
            std::panic::catch_unwind(|| env().compile(source)).map_err(|_| ExprError::Parse {
                offset: 0,
                message: "the CEL parser failed on this expression".to_string(),
            })?;
        match parsed {
            Ok(program) => Ok(CelProgram { program }),
            Err(errors) => {
                let first = errors.errors.first();
                let offset = first
                    .map(|e| line_column_offset(source, e.pos.0, e.pos.1))
                    .unwrap_or(0);
                let message = first
                    .map(|e| e.msg.clone())
                    .unwrap_or_else(|| "invalid CEL expression".to_string());
                Err(ExprError::Parse { offset, message })
            }
        }
    }

    /// Evaluates with `object` bound to `data` and `bindings` to the scope.
    pub(crate) fn evaluate(&self, data: &Value, bindings: &Bindings) -> Result<Value, ExprError> {
        let mut ctx = Context::with_env(env());
        ctx.add_variable_from_value("object", to_cel(data));
        ctx.add_variable_from_value("bindings", to_cel(&Value::Object(bindings.to_map())));
        ctx.add_function("resolve", resolve)
            .map_err(|e| ExprError::Eval(format!("CEL: {e}")))?;
        let out = self
            .program
            .execute(&ctx)
            .map_err(|e| ExprError::Eval(format!("CEL: {e}")))?;
        from_cel(&out)
    }

    /// Names passed to `bindings.resolve('name')` as string literals, in order of
    /// first use (a best-effort scan of the source, for the linter).
    pub(crate) fn binding_names(source: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find("resolve(") {
            rest = &rest[at + "resolve(".len()..];
            let arg = rest.trim_start();
            let Some(quote) = arg.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                continue;
            };
            let body = &arg[1..];
            if let Some(end) = body.find(quote) {
                let name = body[..end].trim_start_matches('$');
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_string());
                }
            }
        }
        names
    }
}

/// `bindings.resolve('name')`: the value bound to `$name`.
fn resolve(This(this): This<CelValue>, name: Arc<String>) -> Result<CelValue, ExecutionError> {
    let bare = name.strip_prefix('$').unwrap_or(&name);
    match &this {
        CelValue::Map(map) => map
            .get(&cel::objects::KeyRef::String(bare))
            .cloned()
            .ok_or_else(|| {
                ExecutionError::function_error("resolve", format!("binding ${bare} is not defined"))
            }),
        _ => Err(ExecutionError::function_error(
            "resolve",
            "resolve() is called on bindings, as in bindings.resolve('name')",
        )),
    }
}

/// A JSON value as a CEL value: integral numbers become `int` (or `uint` past
/// `i64::MAX`), other numbers `double`.
pub(crate) fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                CelValue::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => CelValue::Map(Map {
            map: Arc::new(
                map.iter()
                    .map(|(k, v)| (cel::objects::Key::String(Arc::new(k.clone())), to_cel(v)))
                    .collect(),
            ),
        }),
    }
}

/// A CEL result as JSON (bytes become base64, durations nanoseconds, timestamps
/// RFC 3339); types and functions have no JSON form and are an error.
pub(crate) fn from_cel(value: &CelValue) -> Result<Value, ExprError> {
    value
        .json()
        .map_err(|e| ExprError::Eval(format!("CEL: the result has no JSON form: {e}")))
}

/// The character offset of a 1-based line and column (as the CEL parser reports
/// them) in `source`.
fn line_column_offset(source: &str, line: isize, column: isize) -> usize {
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).saturating_sub(1);
    let mut offset = 0usize;
    for (i, text) in source.split('\n').enumerate() {
        let len = text.chars().count();
        if i + 1 == line {
            return offset + column.min(len);
        }
        offset += len + 1;
    }
    source.chars().count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::{Compiler, ExprError, compile_with, split_compiler};
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn b() -> Bindings {
        Bindings::new()
            .with("namespace", json!("ns-1"))
            .with("values", json!({"replicas": 3, "list": ["a", "b"]}))
    }

    fn eval(src: &str, data: &Value) -> Result<Value, ExprError> {
        compile_with(src, Compiler::Cel)?.evaluate(data, &b())
    }

    #[rstest]
    #[case("object.metadata.name", json!({"metadata": {"name": "x"}}), json!("x"))]
    #[case("object.spec.replicas > 1", json!({"spec": {"replicas": 2}}), json!(true))]
    #[case("object.spec.replicas * 2", json!({"spec": {"replicas": 2}}), json!(4))]
    #[case("object.ratio / 2.0", json!({"ratio": 1.5}), json!(0.75))]
    #[case("bindings.resolve('namespace')", json!(null), json!("ns-1"))]
    #[case("bindings.resolve('$namespace')", json!(null), json!("ns-1"))]
    #[case("bindings.namespace + '-x'", json!(null), json!("ns-1-x"))]
    #[case("bindings.resolve('values').replicas == 3", json!(null), json!(true))]
    #[case("size(object.items)", json!({"items": [1, 2, 3]}), json!(3))]
    #[case("object.items.map(i, i.n)", json!({"items": [{"n": 1}, {"n": 2}]}), json!([1, 2]))]
    #[case("object.items.filter(i, i > 1)", json!({"items": [1, 2, 3]}), json!([2, 3]))]
    #[case("object.items.all(i, i > 0)", json!({"items": [1, 2]}), json!(true))]
    #[case("has(object.a) && !has(object.b)", json!({"a": 1}), json!(true))]
    #[case("object.name.startsWith('web')", json!({"name": "web-1"}), json!(true))]
    #[case("object.name.matches('^web-[0-9]+$')", json!({"name": "web-1"}), json!(true))]
    #[case("'AbC'.lowerAscii()", json!(null), json!("abc"))]
    #[case("{'a': object.x, 'b': [1, null]}", json!({"x": true}), json!({"a": true, "b": [1, null]}))]
    #[case("object", json!(null), json!(null))]
    #[case("object.x ? 'yes' : 'no'", json!({"x": false}), json!("no"))]
    #[case("object.big", json!({"big": u64::MAX}), json!(u64::MAX))]
    fn evaluates(#[case] src: &str, #[case] data: Value, #[case] expected: Value) {
        assert_eq!(eval(src, &data).unwrap(), expected, "{src}");
    }

    #[rstest]
    #[case("object.", 7)]
    #[case("a +", 3)]
    #[case("(a", 2)]
    #[case("a ==\n  == b", 7)]
    #[case("   ", 0)]
    fn parse_errors_point_into_the_source(#[case] src: &str, #[case] offset: usize) {
        match compile_with(src, Compiler::Cel) {
            Err(ExprError::Parse { offset: got, .. }) => assert_eq!(got, offset, "{src}"),
            other => panic!("{src}: expected a parse error, got {other:?}"),
        }
    }

    #[rstest]
    #[case("bindings.resolve('nope')", "binding $nope is not defined")]
    #[case("object.missing", "missing")]
    #[case("1 / 0", "CEL")]
    #[case("object.resolve('x')", "resolve")]
    #[case("object.a.b", "CEL")]
    fn evaluation_errors_are_errors(#[case] src: &str, #[case] fragment: &str) {
        match eval(src, &json!({"a": 1})) {
            Err(ExprError::Eval(m)) => assert!(m.contains(fragment), "{src}: {m}"),
            other => panic!("{src}: expected an evaluation error, got {other:?}"),
        }
    }

    #[rstest]
    #[case("cel;object.x", Some(Compiler::Cel), "object.x", 4)]
    #[case("jp;a.b", Some(Compiler::Jp), "a.b", 3)]
    #[case("jp:a.b", Some(Compiler::Jp), "a.b", 3)]
    #[case("cel:object", Some(Compiler::Cel), "object", 4)]
    #[case("a.b", None, "a.b", 0)]
    #[case("{a: b}", None, "{a: b}", 0)]
    #[case("x ? y : z", None, "x ? y : z", 0)]
    #[case("foo[1:2]", None, "foo[1:2]", 0)]
    fn splits_compiler_prefixes(
        #[case] inner: &str,
        #[case] compiler: Option<Compiler>,
        #[case] statement: &str,
        #[case] offset: usize,
    ) {
        assert_eq!(
            split_compiler(inner).unwrap(),
            (compiler, statement, offset),
            "{inner}"
        );
    }

    #[test]
    fn unknown_compiler_prefix_is_an_error() {
        let err = split_compiler("py;x").unwrap_err();
        assert!(err.to_string().contains("\"py\""), "{err}");
    }

    #[test]
    fn lists_resolved_binding_names() {
        let e = compile_with(
            "bindings.resolve('a') + bindings.resolve(\"$b\") + bindings.resolve('a') + bindings.resolve(x)",
            Compiler::Cel,
        )
        .unwrap();
        assert_eq!(e.binding_names(), ["a", "b"]);
        assert_eq!(e.compiler(), Compiler::Cel);
    }

    #[test]
    fn odd_sources_never_panic() {
        for src in [
            "",
            "(",
            ")",
            "é",
            "'",
            "\"",
            "[",
            "{",
            "}",
            "a.",
            ".a",
            "?",
            "a ? b",
            "!!",
            "-",
            "1..2",
            "'\\",
            "b\"abc",
            "r'",
            "\u{0}",
            "a.b.c.d.e.f(",
        ] {
            if let Ok(e) = compile_with(src, Compiler::Cel) {
                let _ = e.evaluate(&json!({"a": 1}), &Bindings::new());
            }
        }
    }

    #[test]
    fn programs_are_reusable_and_send() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        let e = compile_with("object.a + 1", Compiler::Cel).unwrap();
        assert_send_sync(&e);
        for i in 0..3 {
            assert_eq!(
                e.evaluate(&json!({"a": i}), &Bindings::new()).unwrap(),
                json!(i + 1)
            );
        }
    }
}
