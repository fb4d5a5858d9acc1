//! The expression language: JMESPath with `$name` bindings and Chainsaw's functions.
//!
//! Expressions appear in assertion trees as `(expr)` keys and values, in binding and
//! output values, and in templated resources. They are compiled once ([`compile`], at
//! load time, so a typo is a positioned parse error) and evaluated many times
//! ([`evaluate`]) against the current value (`@`) and a [`Bindings`] scope.
//!
//! - Syntax: standard JMESPath (parsed into the `jmespath` crate's AST, which that crate
//!   evaluates), plus `$name` references to bindings: `$namespace`, `$values.image.tag`,
//!   `$mocks.collector.endpoint`, `items[?name == $want]`. Internally `$name` is
//!   rewritten to a call of a hidden function; error offsets are mapped back to the
//!   original text.
//! - Arithmetic, as in JMESPath-community (JEP-16) and Chainsaw: binary `+`, `-`, `*`,
//!   `/`, `%`, `//` (floor division) and unary `-` / `+`, also `−` `×` `÷`:
//!   `($a + $b)`, `` (length(items) * `2`) ``, `` (spec.replicas - `1`) ``,
//!   `` items[?price * `2` > `10`] ``. Numbers are JSON literals (`` `1` ``, as
//!   everywhere in JMESPath: `a - 1` is a parse error that says so, and `a -1` too, `-1`
//!   being a negative index token). Precedence is go-jmespath-community's: `+ -` below
//!   `× / ÷ % //`, all above the comparators, left-associative; an ASCII `*` binds
//!   tighter still (`` `12` / `2` * `3` `` is `12 / 6`), as Chainsaw parses it. `*`
//!   after a complete operand multiplies; `*.x`, `a.*`, `a[*]` stay projections. Operands
//!   must be numbers: anything else (a string, `null`, a projection's list) gives `null`,
//!   as in Chainsaw. Results are computed in 64-bit floating point; an integral result is
//!   an integer (`` `4` / `2` `` is `2`); `%` takes the dividend's sign (Go's `math.Mod`).
//!   Division by zero is an evaluation error (Chainsaw yields ±Inf or NaN, which no JSON
//!   value holds). Internally an operator is a call of a hidden function; everything
//!   without arithmetic parses to exactly the `jmespath` crate's AST.
//! - Functions: the JMESPath standard library (`length`, `contains`, `join`, `keys`,
//!   `sort_by`...) plus [`functions::EXTRA_FUNCTIONS`]: `env`, `base64_decode`,
//!   `base64_encode`, `to_upper`, `to_lower`, `trim_space`, `split`, `concat`,
//!   `parse_json`, `parse_yaml`, `upper`, `lower`, `trim*`, `replace_all`, `equal_fold`,
//!   `truncate`, `as_string`, `to_boolean`, `json_parse`, `lookup`, Kyverno's arithmetic
//!   functions `add`, `subtract`, `multiply`, `divide`, `modulo` (and `sum` of a list,
//!   the standard one extended the same way) on numbers, Kubernetes
//!   quantities (`add('1Gi', '512Mi')` is `"1536Mi"`, see [`quantity`]) and Go durations
//!   (`add('1h', '30m0s')` is `"1h30m0s"`; a string is a quantity when it parses as one,
//!   so `'30m'` is 30 milli, not a duration), with Kyverno's type rules and errors
//!   (`Types mismatch`, `Zero divisor passed`...), also `round`, `compare`,
//!   `replace`, Kyverno's time functions (`time_now`, `time_now_utc`, `time_add`,
//!   `time_parse`, `time_since`, `time_after`, `time_before`, `time_between`,
//!   `time_diff`, `time_truncate`, `time_to_cron`, `time_utc`; see [`gotime`]),
//!   `regex_match`, `regex_replace_all(_literal)`, `pattern_match`, `wildcard`,
//!   `semver_compare`, `random` (see [`regen`]), `items`, `object_from_lists`,
//!   `label_match`, `path_canonicalize`, `x_metrics_decode` (see [`metrics`]),
//!   `x509_decode` (see [`x509`]), and
//!   `x_k8s_get($client, apiVersion, kind, namespace, name)`,
//!   `x_k8s_list($client, apiVersion, kind, namespace)`, `x_k8s_exists(...)`,
//!   `x_k8s_resource_exists($client, apiVersion, kind)`, `x_k8s_server_version($config)`,
//!   which call the [`ClusterLookup`] attached to the bindings
//!   ([`Bindings::with_cluster`]); the first argument is accepted for Chainsaw
//!   compatibility and ignored.
//! - CEL: `(cel;expr)` (or a `compiler: cel` default, see [`Compiler`]) compiles with
//!   Chainsaw's CEL compiler instead, where `object` is the current value and
//!   `bindings.resolve('name')` a binding; see [`compile_with`].
//! - Not supported (yet): JMESPath-community `let` expressions, `image_normalize`.
#![warn(missing_docs)]

mod bindings;
mod cel;
pub mod functions;
pub mod gotime;
mod kyverno;
pub mod metrics;
mod parser;
pub mod quantity;
pub mod regen;
pub mod x509;

pub use bindings::Bindings;
pub use functions::ClusterLookup;

use std::fmt;

use serde_json::Value;

/// An expression error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The text is not a valid expression; `offset` counts characters from its start.
    #[error("invalid expression at offset {offset}: {message}")]
    Parse {
        /// Character offset of the problem in the expression text.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// Evaluation failed (undefined binding, function error, wrong argument type...).
    #[error("{0}")]
    Eval(String),
}

/// An expression language ("compiler" in Chainsaw's terms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compiler {
    /// JMESPath (`jp`), the default.
    #[default]
    Jp,
    /// The Common Expression Language (`cel`).
    Cel,
}

impl Compiler {
    /// The compiler called `name` (`jp` or `cel`), if any.
    pub fn from_name(name: &str) -> Option<Compiler> {
        match name {
            "jp" => Some(Compiler::Jp),
            "cel" => Some(Compiler::Cel),
            _ => None,
        }
    }

    /// The name Chainsaw uses (`jp`, `cel`).
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Jp => "jp",
            Compiler::Cel => "cel",
        }
    }
}

impl fmt::Display for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits a compiler prefix off the inside of a `(...)` expression, as Chainsaw does:
/// `cel;object.x` → `(Some(Cel), "object.x", 4)`, where the last element is the
/// character offset of the statement. `jp:` / `cel:` (with a colon) are accepted too.
/// Text without a `word;` / `word:` prefix is returned whole; an unknown compiler name
/// is an error at offset 0.
pub fn split_compiler(inner: &str) -> Result<(Option<Compiler>, &str, usize), ExprError> {
    let Some(sep) = inner.find([';', ':']) else {
        return Ok((None, inner, 0));
    };
    let name = &inner[..sep];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok((None, inner, 0));
    }
    match Compiler::from_name(name) {
        Some(c) => Ok((Some(c), &inner[sep + 1..], name.chars().count() + 1)),
        None => Err(ExprError::Parse {
            offset: 0,
            message: format!("unknown expression compiler {name:?}: expected jp or cel"),
        }),
    }
}

/// A compiled expression.
#[derive(Clone)]
pub struct Expression {
    source: String,
    /// The CEL program, for a CEL expression (the JMESPath fields are then unused).
    cel: Option<std::sync::Arc<cel::CelProgram>>,
    rewritten: String,
    ast: jmespath::ast::Ast,
    /// `(offset in rewritten, offset in source)` at each rewrite boundary.
    offsets: Vec<(usize, usize)>,
    /// Names of the `$bindings` referenced, in order of first use.
    bindings: Vec<String>,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expression({:?})", self.source)
    }
}

impl fmt::Display for Expression {
    /// The source, with a `cel;` prefix for CEL so that messages tell the languages
    /// apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cel.is_some() {
            f.write_str("cel;")?;
        }
        f.write_str(&self.source)
    }
}

impl Expression {
    /// The expression as written (without a compiler prefix).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The language the expression is written in.
    pub fn compiler(&self) -> Compiler {
        if self.cel.is_some() {
            Compiler::Cel
        } else {
            Compiler::Jp
        }
    }

    /// The binding names (without `$`) the expression references, in order of first
    /// use: lets a linter report bindings used but never defined.
    pub fn binding_names(&self) -> &[String] {
        &self.bindings
    }

    /// Evaluates against `data` (the current value, `@`) with `bindings`.
    pub fn evaluate(&self, data: &Value, bindings: &Bindings) -> Result<Value, ExprError> {
        evaluate(self, data, bindings)
    }

    fn original_offset(&self, rewritten_offset: usize) -> usize {
        let mut best = (0, 0);
        for &(r, o) in &self.offsets {
            if r <= rewritten_offset {
                best = (r, o);
            }
        }
        (best.1 + rewritten_offset.saturating_sub(best.0)).min(self.source.chars().count())
    }
}

/// Compiles `source` (without the surrounding parentheses of `(expr)` keys/values):
/// JMESPath, unless it starts with a `cel;` (or `jp;`) prefix.
pub fn compile(source: &str) -> Result<Expression, ExprError> {
    compile_prefixed(source, Compiler::Jp)
}

/// Compiles `inner` (the text between the parentheses of `(expr)`) with the compiler
/// its `jp;` / `cel;` prefix names, or `default` without one; error offsets count from
/// the start of `inner`.
pub fn compile_prefixed(inner: &str, default: Compiler) -> Result<Expression, ExprError> {
    let (compiler, statement, skipped) = split_compiler(inner)?;
    compile_with(statement, compiler.unwrap_or(default)).map_err(|e| match e {
        ExprError::Parse { offset, message } => ExprError::Parse {
            offset: offset + skipped,
            message,
        },
        other => other,
    })
}

/// Compiles `source` with `compiler` (no prefix handling: see [`split_compiler`]).
pub fn compile_with(source: &str, compiler: Compiler) -> Result<Expression, ExprError> {
    if compiler == Compiler::Cel {
        let program = cel::CelProgram::compile(source)?;
        return Ok(Expression {
            source: source.to_string(),
            cel: Some(std::sync::Arc::new(program)),
            rewritten: String::new(),
            ast: jmespath::ast::Ast::Identity { offset: 0 },
            offsets: Vec::new(),
            bindings: cel::CelProgram::binding_names(source),
        });
    }
    let (rewritten, offsets, bindings) = rewrite_bindings(source)?;
    let mut expr = Expression {
        source: source.to_string(),
        cel: None,
        rewritten,
        ast: jmespath::ast::Ast::Identity { offset: 0 },
        offsets,
        bindings,
    };
    if expr.rewritten.trim().is_empty() {
        return Err(ExprError::Parse {
            offset: 0,
            message: "empty expression".to_string(),
        });
    }
    match parser::parse(&expr.rewritten) {
        Ok(ast) => {
            expr.ast = ast;
            Ok(expr)
        }
        Err(e) => Err(ExprError::Parse {
            offset: expr.original_offset(char_offset(&expr.rewritten, e.offset)),
            message: e.reason.to_string(),
        }),
    }
}

/// Evaluates `expr` against `data` (`@`) with `bindings`.
pub fn evaluate(expr: &Expression, data: &Value, bindings: &Bindings) -> Result<Value, ExprError> {
    if let Some(program) = &expr.cel {
        return program.evaluate(data, bindings);
    }
    let var = jmespath::Variable::try_from(data.clone())
        .map_err(|e| ExprError::Eval(e.reason.to_string()))?;
    let mut ctx = jmespath::Context::new(&expr.rewritten, functions::runtime());
    let result = functions::with_bindings(bindings, || {
        jmespath::interpret(&jmespath::Rcvar::new(var), &expr.ast, &mut ctx)
    })
    .map_err(|e| ExprError::Eval(e.reason.to_string()))?;
    serde_json::to_value(&*result).map_err(|e| ExprError::Eval(e.to_string()))
}

/// Compiles and evaluates in one go (tests and one-off evaluations).
pub fn eval_str(source: &str, data: &Value, bindings: &Bindings) -> Result<Value, ExprError> {
    evaluate(&compile(source)?, data, bindings)
}

/// [`eval_str`] for the inside of an `(expr)` whose language is its `jp;` / `cel;`
/// prefix, or `default` without one.
pub fn eval_prefixed(
    inner: &str,
    default: Compiler,
    data: &Value,
    bindings: &Bindings,
) -> Result<Value, ExprError> {
    evaluate(&compile_prefixed(inner, default)?, data, bindings)
}

fn char_offset(s: &str, byte_offset: usize) -> usize {
    s.char_indices()
        .take_while(|(i, _)| *i < byte_offset)
        .count()
}

/// Rewrites `$name` into `__kanon_binding('name')`, leaving string literals alone.
/// Returns the new text (offsets in characters), the offset map and the binding names.
#[allow(clippy::type_complexity)]
fn rewrite_bindings(source: &str) -> Result<(String, Vec<(usize, usize)>, Vec<String>), ExprError> {
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut out_len = 0usize;
    let mut offsets = vec![(0usize, 0usize)];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                let start = i;
                out.push(c);
                out_len += 1;
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    out_len += 1;
                    i += 1;
                    if d == '\\' && i < chars.len() {
                        out.push(chars[i]);
                        out_len += 1;
                        i += 1;
                        continue;
                    }
                    if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(ExprError::Parse {
                        offset: start,
                        message: format!("unterminated {c} literal"),
                    });
                }
            }
            '$' => {
                let start = i;
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(ExprError::Parse {
                        offset: start,
                        message: "`$` must be followed by a binding name, as in `$namespace`"
                            .to_string(),
                    });
                }
                let name: String = chars[i + 1..j].iter().collect();
                if !names.contains(&name) {
                    names.push(name.clone());
                }
                offsets.push((out_len, start));
                let call = format!("{}('{}')", functions::VAR_FN, name);
                out_len += call.chars().count();
                out.push_str(&call);
                offsets.push((out_len, j));
                i = j;
            }
            _ => {
                out.push(c);
                out_len += 1;
                i += 1;
            }
        }
    }
    Ok((out, offsets, names))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    fn b() -> Bindings {
        Bindings::new()
            .with("namespace", json!("ns-1"))
            .with("values", json!({"foo": {"bar": 3}, "list": ["a", "b"]}))
            .with(
                "mocks",
                json!({"otlp": {"endpoint": "http://127.0.0.1:4318"}}),
            )
            .with("want", json!("b"))
    }

    #[rstest]
    #[case("a.b", json!({"a": {"b": 1}}), json!(1))]
    #[case("$namespace", json!(null), json!("ns-1"))]
    #[case("$values.foo.bar", json!(null), json!(3))]
    #[case("$mocks.otlp.endpoint", json!(null), json!("http://127.0.0.1:4318"))]
    #[case("items[?name == $want].v", json!({"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}), json!([2]))]
    #[case("'$namespace'", json!(null), json!("$namespace"))]
    #[case("length(@)", json!([1, 2, 3]), json!(3))]
    #[case("contains(@, 'b')", json!("abc"), json!(true))]
    #[case("join('-', $values.list)", json!(null), json!("a-b"))]
    #[case("to_upper('ab')", json!(null), json!("AB"))]
    #[case("to_lower('AB')", json!(null), json!("ab"))]
    #[case("trim_space('  x ')", json!(null), json!("x"))]
    #[case("base64_encode('hello')", json!(null), json!("aGVsbG8="))]
    #[case("base64_decode('aGVsbG8=')", json!(null), json!("hello"))]
    #[case("parse_json('{\"a\": [1]}').a[0]", json!(null), json!(1))]
    #[case("parse_yaml('a:\n  b: x\n').a.b", json!(null), json!("x"))]
    #[case("split('a,b', ',')", json!(null), json!(["a", "b"]))]
    #[case("concat('a', 'b')", json!(null), json!("ab"))]
    #[case("env('KANON_SURELY_UNSET_VARIABLE')", json!(null), json!(null))]
    #[case("spec.replicas > `1`", json!({"spec": {"replicas": 2}}), json!(true))]
    #[case("upper('a')", json!(null), json!("A"))]
    #[case("lower('A')", json!(null), json!("a"))]
    #[case("trim('--a--', '-')", json!(null), json!("a"))]
    #[case("trim_left('--a--', '-')", json!(null), json!("a--"))]
    #[case("trim_right('--a--', '-')", json!(null), json!("--a"))]
    #[case("trim_prefix('v1.2', 'v')", json!(null), json!("1.2"))]
    #[case("replace_all('a.b.c', '.', '-')", json!(null), json!("a-b-c"))]
    #[case("equal_fold('Ab', 'aB')", json!(null), json!(true))]
    #[case("truncate('abcdef', `3`)", json!(null), json!("abc"))]
    #[case("as_string('x')", json!(null), json!("x"))]
    #[case("as_string(`1`)", json!(null), json!(null))]
    #[case("to_boolean('True')", json!(null), json!(true))]
    #[case("json_parse('[1]')", json!(null), json!([1]))]
    #[case("lookup(@, 'a')", json!({"a": 5}), json!(5))]
    #[case("lookup(@, `1`)", json!([5, 6]), json!(6))]
    #[case("add(`1`, `2`)", json!(null), json!(3))]
    #[case("subtract(`1`, `2`)", json!(null), json!(-1))]
    #[case("multiply(`1.5`, `2`)", json!(null), json!(3))]
    #[case("divide(`1`, `4`)", json!(null), json!(0.25))]
    #[case("modulo(`7`, `4`)", json!(null), json!(3))]
    #[case("add('1Gi', '512Mi')", json!(null), json!("1536Mi"))]
    #[case("add(requests.memory, limits.memory)", json!({"requests": {"memory": "1"}, "limits": {"memory": "500m"}}), json!("1500m"))]
    #[case("subtract('1h30m', '30m0s')", json!(null), json!("1h0m0s"))]
    #[case("multiply(`2`, '1.5Gi')", json!(null), json!("3Gi"))]
    #[case("divide('1Gi', '256Mi')", json!(null), json!(4))]
    #[case("divide('1h', `4`)", json!(null), json!("15m0s"))]
    #[case("modulo('10Ki', '3Ki')", json!(null), json!("1Ki"))]
    fn evaluates(#[case] src: &str, #[case] data: Value, #[case] expected: Value) {
        assert_eq!(eval_str(src, &data, &b()).unwrap(), expected, "{src}");
    }

    fn arith_data() -> Value {
        json!({
            "foo": 3,
            "neg": -7,
            "half": 2.5,
            "name": "x",
            "spec": {"replicas": 3},
            "items": [
                {"name": "a", "price": 4},
                {"name": "b", "price": 6},
                {"name": "c", "price": 8},
                {"name": "d"}
            ],
            "m": {"x": {"v": 1}, "y": {"v": 2}}
        })
    }

    #[rstest]
    #[case("`1` + `2` * `3`", json!(7))]
    #[case("(`1` + `2`) * `3`", json!(9))]
    #[case("`10` - `3` - `2`", json!(5))]
    #[case("`2` * `3` % `4`", json!(2))]
    #[case("`2` % `3` * `4`", json!(2))] // go-jmespath-community: `*` binds tighter than `%`
    #[case("`12` / `2` * `3`", json!(2))] // ... and than `/`
    #[case("`12` / `2` \u{00d7} `3`", json!(18))] // `×` is at `/`'s level
    #[case("`7` / `2`", json!(3.5))]
    #[case("`4` / `2`", json!(2))]
    #[case("`7` // `2`", json!(3))]
    #[case("`-7` // `2`", json!(-4))]
    #[case("`7` % `3`", json!(1))]
    #[case("`-7` % `3`", json!(-1))]
    #[case("`7` % `-3`", json!(1))]
    #[case("`5.5` % `2`", json!(1.5))]
    #[case("`0.1` + `0.2`", json!(0.30000000000000004))]
    #[case("`1.5` * `2`", json!(3))]
    #[case("`5` \u{2212} `2` \u{00f7} `4`", json!(4.5))]
    #[case("-foo", json!(-3))]
    #[case("- -foo", json!(3))]
    #[case("- `-1`", json!(1))]
    #[case("+foo", json!(3))]
    #[case("-half", json!(-2.5))]
    #[case("neg + foo", json!(-4))]
    #[case("foo-neg", json!(10))]
    #[case("spec.replicas - `1`", json!(2))]
    #[case("spec.replicas - `1` == `2`", json!(true))]
    #[case("length(items) * `2`", json!(8))]
    #[case("items[?price * `2` > `10`].name", json!(["b", "c"]))]
    #[case("items[?price].price | sum(@) / length(@)", json!(6))]
    #[case("max(items[*].price) - min(items[*].price)", json!(4))]
    #[case("items[*].price", json!([4, 6, 8]))]
    #[case("items[-1].name", json!("d"))]
    #[case("items[::-1] | [0].name", json!("d"))]
    #[case("m | sort(*.v)", json!([1, 2]))]
    #[case("m.*.v | sort(@)", json!([1, 2]))]
    #[case("{double: foo * `2`, list: [foo + `1`, -foo]}", json!({"double": 6, "list": [4, -3]}))]
    #[case("$values.foo.bar * `2`", json!(6))]
    #[case("$values.foo.bar + foo", json!(6))]
    #[case("`\"-1\"`", json!("-1"))]
    #[case("'a - b * c'", json!("a - b * c"))]
    // Non-numbers give null, as in go-jmespath-community.
    #[case("'a' + `1`", json!(null))]
    #[case("name * `2`", json!(null))]
    #[case("missing - `1`", json!(null))]
    #[case("`true` + `1`", json!(null))]
    #[case("items[*].price + `1`", json!(null))]
    #[case("-name", json!(null))]
    #[case("+name", json!(null))]
    fn arithmetic(#[case] src: &str, #[case] expected: Value) {
        let got = eval_str(src, &arith_data(), &b()).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(got, expected, "{src}");
        // Integral results are integers, so they print and compare as Chainsaw's do.
        if expected.is_i64() {
            assert!(got.is_i64(), "{src}: {got:?} is not an integer");
        }
    }

    #[test]
    fn arithmetic_with_bindings() {
        let bindings = Bindings::new()
            .with("a", json!(2))
            .with("b", json!(3))
            .with("s", json!("x"));
        let eval = |src: &str| eval_str(src, &json!(null), &bindings).unwrap();
        assert_eq!(eval("$a + $b"), json!(5));
        assert_eq!(eval("$a * $b - `1`"), json!(5));
        assert_eq!(eval("$a-$b"), json!(-1));
        assert_eq!(eval("-$a"), json!(-2));
        assert_eq!(eval("$s + $a"), json!(null));
        assert_eq!(
            compile("$a + $b * $c").unwrap().binding_names(),
            ["a", "b", "c"]
        );
    }

    #[rstest]
    #[case("`1` / `0`", "division by zero in `1 / 0`")]
    #[case("`1` // `0`", "division by zero")]
    #[case("`1` % `0`", "division by zero")]
    #[case("`1e308` * `10`", "not a finite number")]
    fn arithmetic_errors(#[case] src: &str, #[case] message: &str) {
        let err = eval_str(src, &json!(null), &b()).unwrap_err();
        assert!(err.to_string().contains(message), "{src}: {err}");
    }

    #[rstest]
    #[case("length(items) * 2", 16)]
    #[case("$values.foo.bar -1", 16)]
    #[case("$values.foo.bar +", 17)]
    #[case("foo[*] * `2`", 7)]
    fn arithmetic_parse_errors_point_into_the_source(#[case] src: &str, #[case] offset: usize) {
        match compile(src) {
            Err(ExprError::Parse { offset: got, .. }) => assert_eq!(got, offset, "{src}"),
            other => panic!("{src}: expected parse error, got {other:?}"),
        }
    }

    #[rstest]
    #[case("a.", 2)]
    #[case("foo[?", 5)]
    #[case("$", 0)]
    #[case("$namespace == 'x", 14)]
    #[case("$values.foo ||| x", 14)]
    fn parse_errors_point_into_the_source(#[case] src: &str, #[case] offset: usize) {
        match compile(src) {
            Err(ExprError::Parse { offset: got, .. }) => assert_eq!(got, offset, "{src}"),
            other => panic!("{src}: expected parse error, got {other:?}"),
        }
    }

    #[rstest]
    #[case("jp;a.b", json!({"a": {"b": 1}}), json!(1))]
    #[case("cel;object.a.b + 1", json!({"a": {"b": 1}}), json!(2))]
    #[case("cel;bindings.resolve('namespace')", json!(null), json!("ns-1"))]
    fn prefixed_sources_pick_their_compiler(
        #[case] src: &str,
        #[case] data: Value,
        #[case] expected: Value,
    ) {
        assert_eq!(eval_str(src, &data, &b()).unwrap(), expected, "{src}");
    }

    #[rstest]
    #[case("cel;a +", 7)]
    #[case("jp;a.", 5)]
    #[case("zz;a", 0)]
    fn prefixed_parse_errors_count_the_prefix(#[case] src: &str, #[case] offset: usize) {
        match compile(src) {
            Err(ExprError::Parse { offset: got, .. }) => assert_eq!(got, offset, "{src}"),
            other => panic!("{src}: expected parse error, got {other:?}"),
        }
    }

    #[test]
    fn lists_referenced_bindings() {
        let e = compile("join('-', [$a, $values.x, $a, '$notone'])").unwrap();
        assert_eq!(e.binding_names(), ["a", "values"]);
    }

    #[test]
    fn undefined_binding_is_an_evaluation_error() {
        let err = eval_str("$nope", &json!(null), &Bindings::new()).unwrap_err();
        assert!(err.to_string().contains("$nope"), "{err}");
    }

    #[test]
    fn division_by_zero_is_an_error() {
        assert!(eval_str("divide(`1`, `0`)", &json!(null), &Bindings::new()).is_err());
        let err = eval_str("divide('1Gi', '0')", &json!(null), &Bindings::new()).unwrap_err();
        assert!(err.to_string().contains("Zero divisor passed"), "{err}");
    }

    #[test]
    fn mixed_arithmetic_operands_are_errors() {
        for (src, message) in [
            ("add(`1`, '1')", "JMESPath function 'add': Types mismatch"),
            (
                "add('1h', '1Gi')",
                "JMESPath function 'add': Types mismatch",
            ),
            (
                "add('1h', 'nope')",
                "JMESPath function 'add': invalid operands",
            ),
            (
                "add('1h', missing)",
                "JMESPath function 'add': invalid operands",
            ),
        ] {
            let err = eval_str(src, &json!({}), &Bindings::new()).unwrap_err();
            assert!(err.to_string().contains(message), "{src}: {err}");
        }
    }

    #[test]
    fn unknown_function_is_an_error() {
        assert!(eval_str("nope(@)", &json!(1), &Bindings::new()).is_err());
    }

    #[test]
    fn env_reads_the_environment() {
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(
            eval_str("env('PATH')", &json!(null), &Bindings::new()).unwrap(),
            json!(path)
        );
    }

    #[derive(Default)]
    struct Fake {
        objects: BTreeMap<(String, String, String, String), Value>,
        calls: Mutex<u32>,
    }

    impl ClusterLookup for Fake {
        fn get(&self, av: &str, kind: &str, ns: &str, name: &str) -> Result<Option<Value>, String> {
            *self.calls.lock().map_err(|e| e.to_string())? += 1;
            Ok(self
                .objects
                .get(&(av.into(), kind.into(), ns.into(), name.into()))
                .cloned())
        }
        fn list(&self, av: &str, kind: &str, ns: &str) -> Result<Vec<Value>, String> {
            Ok(self
                .objects
                .iter()
                .filter(|((a, k, n, _), _)| a == av && k == kind && (ns.is_empty() || n == ns))
                .map(|(_, v)| v.clone())
                .collect())
        }
    }

    #[test]
    fn cluster_functions_use_the_lookup() {
        let mut fake = Fake::default();
        fake.objects.insert(
            ("v1".into(), "ConfigMap".into(), "ns-1".into(), "cm".into()),
            json!({"data": {"k": "v"}}),
        );
        fake.objects.insert(
            ("v1".into(), "ConfigMap".into(), "ns-1".into(), "cm2".into()),
            json!({"data": {"k": "w"}}),
        );
        let fake = Arc::new(fake);
        let bindings = b().with("client", json!(null)).with_cluster(fake.clone());
        let get = "x_k8s_get($client, 'v1', 'ConfigMap', $namespace, 'cm').data.k";
        assert_eq!(eval_str(get, &json!(null), &bindings).unwrap(), json!("v"));
        let exists = "x_k8s_exists($client, 'v1', 'ConfigMap', $namespace, 'nope')";
        assert_eq!(
            eval_str(exists, &json!(null), &bindings).unwrap(),
            json!(false)
        );
        let list = "length(x_k8s_list($client, 'v1', 'ConfigMap', $namespace).items)";
        assert_eq!(eval_str(list, &json!(null), &bindings).unwrap(), json!(2));
        let missing = "x_k8s_get($client, 'v1', 'ConfigMap', $namespace, 'nope')";
        assert!(eval_str(missing, &json!(null), &bindings).is_err());
        assert!(*fake.calls.lock().unwrap() >= 3);
        assert!(eval_str(get, &json!(null), &b().with("client", json!(null))).is_err());
    }

    #[test]
    fn compiled_expressions_are_reusable_and_send() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        let e = compile("a").unwrap();
        assert_send_sync(&e);
        for i in 0..3 {
            assert_eq!(
                e.evaluate(&json!({"a": i}), &Bindings::new()).unwrap(),
                json!(i)
            );
        }
    }
}
