//! The syntax of assertion-tree keys and values (kyverno-json's):
//!
//! - `~name.rest` / `~.rest`: iterate over the projected array (or map), binding the
//!   index (or key) to `$name` when a name is given;
//! - `rest -> name`: bind the projected value to `$name`;
//! - `\text\`: escaped, `text` is taken literally (a key that really starts with `(`);
//! - `(expr)`: an expression in the default language (JMESPath unless a `compiler`
//!   field says otherwise); `(jp;expr)` / `(cel;expr)` pick the language explicitly
//!   (Chainsaw's syntax; `jp:` / `cel:` are accepted too); anything else is a plain
//!   field name (keys) or a literal (values).

use crate::expr::{self, Compiler, ExprError, Expression};

/// A parsed assertion-tree key (or value string).
#[derive(Clone, Debug)]
pub struct KeySyntax {
    /// The text as written.
    pub text: String,
    /// `Some(name)` when the key iterates (`~name.`); the inner `Option` is the index
    /// binding name.
    pub foreach: Option<Option<String>>,
    /// `->name`.
    pub binding: Option<String>,
    /// The field name, or the expression.
    pub target: Target,
    /// 1-based line of the key in its file (0 when unknown).
    pub line: u32,
    /// 1-based column of the key in its file (0 when unknown).
    pub column: u32,
}

/// What a key projects.
#[derive(Clone, Debug)]
pub enum Target {
    /// A plain (or escaped) field name / literal string.
    Literal(String),
    /// A compiled expression, with its source text.
    Expr(Expression),
}

/// Why a key or value could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Character offset in the key or value text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a key (or a string value) of an assertion tree, JMESPath by default.
pub fn parse(text: &str) -> Result<KeySyntax, SyntaxError> {
    parse_with(text, Compiler::Jp)
}

/// Parses a key (or a string value) of an assertion tree; `(expr)` without a
/// `jp;` / `cel;` prefix is compiled with `default`.
pub fn parse_with(text: &str, default: Compiler) -> Result<KeySyntax, SyntaxError> {
    let mut rest = text;
    let mut offset = 0usize;
    let mut foreach = None;
    // 1. `~name.`
    if let Some(after) = rest.strip_prefix('~')
        && let Some(dot) = after.find('.')
        && (dot == 0 || is_word(&after[..dot]))
    {
        let name = &after[..dot];
        foreach = Some(if name.is_empty() {
            None
        } else {
            Some(name.to_string())
        });
        offset += 1 + dot + 1;
        rest = &after[dot + 1..];
    }
    // 2. `-> name`
    let mut binding = None;
    if let Some(arrow) = rest.rfind("->") {
        let name = rest[arrow + 2..].trim();
        if is_word(name) {
            binding = Some(name.to_string());
            rest = rest[..arrow].trim_end();
        }
    }
    // 3. `\escaped\` or `(expr)`
    let target = if rest.len() >= 3 && rest.starts_with('\\') && rest.ends_with('\\') {
        Target::Literal(rest[1..rest.len() - 1].to_string())
    } else if rest.len() >= 2 && rest.starts_with('(') && rest.ends_with(')') {
        let inner = &rest[1..rest.len() - 1];
        let (compiler, source, skipped) = expr::split_compiler(inner).map_err(|e| SyntaxError {
            offset: offset + 1,
            message: match e {
                ExprError::Parse { message, .. } | ExprError::Eval(message) => message,
            },
        })?;
        let inner_offset = offset + 1 + skipped;
        match expr::compile_with(source, compiler.unwrap_or(default)) {
            Ok(e) => Target::Expr(e),
            Err(ExprError::Parse { offset: o, message }) => {
                return Err(SyntaxError {
                    offset: inner_offset + o,
                    message: format!("invalid expression `{source}`: {message}"),
                });
            }
            Err(ExprError::Eval(message)) => {
                return Err(SyntaxError {
                    offset: inner_offset,
                    message,
                });
            }
        }
    } else {
        Target::Literal(rest.to_string())
    };
    Ok(KeySyntax {
        text: text.to_string(),
        foreach,
        binding,
        target,
        line: 0,
        column: 0,
    })
}

/// Parses a string value: `\\text\\` is the literal `text`, `(expr)` an expression,
/// anything else a literal. (`~` and `->` have no meaning in values.)
pub fn parse_value(text: &str) -> Result<Target, SyntaxError> {
    parse_value_with(text, Compiler::Jp)
}

/// [`parse_value`] with `default` as the compiler of unprefixed expressions.
pub fn parse_value_with(text: &str, default: Compiler) -> Result<Target, SyntaxError> {
    if text.len() >= 3 && text.starts_with('\\') && text.ends_with('\\') {
        return Ok(Target::Literal(text[1..text.len() - 1].to_string()));
    }
    if !is_expression(text) {
        return Ok(Target::Literal(text.to_string()));
    }
    let parsed = parse_with(text, default)?;
    if parsed.foreach.is_some() || parsed.binding.is_some() {
        return Ok(Target::Literal(text.to_string()));
    }
    Ok(parsed.target)
}

/// Whether a string value is an expression (`(expr)`) rather than a literal.
pub fn is_expression(text: &str) -> bool {
    text.len() >= 2 && text.starts_with('(') && text.ends_with(')')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("name", None, None, "name", false)]
    #[case("(length(@))", None, None, "length(@)", true)]
    #[case("(jp:length(@))", None, None, "length(@)", true)]
    #[case("(jp;length(@))", None, None, "length(@)", true)]
    #[case("(cel;object.a)", None, None, "object.a", true)]
    #[case("~.(cel;object.items)", Some(None), None, "object.items", true)]
    #[case("(cel;size(object))->n", None, Some("n"), "size(object)", true)]
    #[case("~.(containers)", Some(None), None, "containers", true)]
    #[case("~idx.(containers)", Some(Some("idx")), None, "containers", true)]
    #[case("~.containers", Some(None), None, "containers", false)]
    #[case("(metadata.name)->n", None, Some("n"), "metadata.name", true)]
    #[case("spec -> s", None, Some("s"), "spec", false)]
    #[case("\\(foo)\\", None, None, "(foo)", false)]
    #[case("~i.(items)->all", Some(Some("i")), Some("all"), "items", true)]
    #[case("a->b->c", None, Some("c"), "a->b", false)]
    fn parses(
        #[case] text: &str,
        #[case] foreach: Option<Option<&str>>,
        #[case] binding: Option<&str>,
        #[case] target: &str,
        #[case] is_expr: bool,
    ) {
        let k = parse(text).unwrap();
        assert_eq!(k.foreach, foreach.map(|f| f.map(str::to_string)), "{text}");
        assert_eq!(k.binding.as_deref(), binding, "{text}");
        match k.target {
            Target::Literal(l) => {
                assert!(!is_expr, "{text}");
                assert_eq!(l, target);
            }
            Target::Expr(e) => {
                assert!(is_expr, "{text}");
                assert_eq!(e.source(), target);
            }
        }
    }

    #[rstest]
    #[case("(a.)", 3)]
    #[case("~.(foo[?)", 8)]
    #[case("(cel;a.)", 7)]
    #[case("(cel:a +)", 8)]
    #[case("(zz:a)", 1)]
    #[case("(zz;a)", 1)]
    fn errors_point_into_the_text(#[case] text: &str, #[case] offset: usize) {
        assert_eq!(parse(text).unwrap_err().offset, offset, "{text}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod compilers {
    use super::*;
    use crate::expr::Compiler;

    #[test]
    fn the_default_compiler_applies_to_unprefixed_expressions_only() {
        let cel = |t: &str| match parse_value_with(t, Compiler::Cel).unwrap() {
            Target::Expr(e) => e.compiler(),
            Target::Literal(l) => panic!("{t}: literal {l}"),
        };
        assert_eq!(cel("(object.a)"), Compiler::Cel);
        assert_eq!(cel("(jp;a.b)"), Compiler::Jp);
        assert_eq!(cel("(cel;object)"), Compiler::Cel);
        match parse_value("(a.b)").unwrap() {
            Target::Expr(e) => assert_eq!(e.compiler(), Compiler::Jp),
            Target::Literal(l) => panic!("literal {l}"),
        }
        // A JMESPath-only expression is a CEL syntax error under a CEL default.
        assert!(parse_value_with("(items[?a == `1`])", Compiler::Cel).is_err());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod robustness {
    #[test]
    fn odd_texts_never_panic() {
        for text in [
            "", "(", ")", "()", "(é)", "é", "~", "~.", "~é.x", "~.é", "\\", "\\\\", "\\é\\",
            "(jp:)", "(jp:é)", "(cel:)", "(cel;)", "(cel;é)", "(cel;')", "(;)", "->", "a->", "->b",
            "a -> é", "~x.(a)->", "$", "($)", "(`)", "('é)", "(\"é\")", "(a)->(b)",
        ] {
            let _ = super::parse(text);
            let _ = super::parse_value(text);
        }
    }
}
