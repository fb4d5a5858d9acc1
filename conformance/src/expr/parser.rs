//! The JMESPath parser: the standard grammar plus JMESPath-community arithmetic
//! (JEP-16), producing the `jmespath` crate's [`Ast`].
//!
//! For an expression without arithmetic the AST (offsets included) is exactly what
//! [`jmespath::parse`] builds: the lexer and the Pratt parser below follow that crate's
//! (MIT-licensed `jmespath` 0.5) token by token, binding power by binding power, and
//! the tests check it over a corpus. Arithmetic is added the way go-jmespath-community
//! (the dialect Chainsaw evaluates) parses it:
//!
//! - tokens: `+`, `-` (and `−`, U+2212), `*` (and `×`, U+00D7), `/` (and `÷`,
//!   U+00F7), `%`, `//`. A `-` directly followed by a digit is still a negative number
//!   token (`[-1]`, `[::-1]`), so `a -1` is not a subtraction: write `` a - `1` ``.
//!   Numbers in expressions are JSON literals (`` `2` ``): a bare `2` is no more an
//!   expression than in standard JMESPath.
//! - binding powers: `+` `-` 6; `×` `/` `÷` `%` `//` 7 (above the comparators' 5,
//!   below `[]`'s 9); an infix ASCII `*` keeps the star's 20, as in go-jmespath-community,
//!   so it binds tighter than `/` and `%` (`` `2` % `3` * `4` `` is `2 % 12`). `*` is a
//!   multiplication only after a complete operand; `*.a`, `a.*`, `a[*]` are still
//!   projections. Unary `-` / `+` parse their operand at power 6 (`-a * b` is
//!   `-(a * b)`, `-a + b` is `(-a) + b`). All binary operators are left-associative.
//!
//! An operation becomes a call of a hidden function ([`ADD`]...) that
//! [`super::functions`] registers, so the `jmespath` interpreter runs it unchanged.

use std::collections::VecDeque;

use jmespath::ast::{Ast, Comparator, KeyValuePair};
use jmespath::{ErrorReason, JmespathError, Rcvar, Variable};

/// Hidden function for `a + b`.
pub(crate) const ADD: &str = "__kanon_add";
/// Hidden function for `a - b` (and `a − b`).
pub(crate) const SUBTRACT: &str = "__kanon_subtract";
/// Hidden function for `a * b` (and `a × b`).
pub(crate) const MULTIPLY: &str = "__kanon_multiply";
/// Hidden function for `a / b` (and `a ÷ b`).
pub(crate) const DIVIDE: &str = "__kanon_divide";
/// Hidden function for `a % b`.
pub(crate) const MODULO: &str = "__kanon_modulo";
/// Hidden function for `a // b`.
pub(crate) const FLOOR_DIVIDE: &str = "__kanon_floor_divide";
/// Hidden function for `-a`.
pub(crate) const NEGATE: &str = "__kanon_negate";
/// Hidden function for `+a`.
pub(crate) const UNARY_PLUS: &str = "__kanon_unary_plus";

/// The hidden arithmetic functions: name, operator as written (for messages), arity.
pub(crate) const OPERATORS: &[(&str, &str, usize)] = &[
    (ADD, "+", 2),
    (SUBTRACT, "-", 2),
    (MULTIPLY, "*", 2),
    (DIVIDE, "/", 2),
    (MODULO, "%", 2),
    (FLOOR_DIVIDE, "//", 2),
    (NEGATE, "-", 1),
    (UNARY_PLUS, "+", 1),
];

/// Parses `expr` (after `$name` rewriting) into an AST; errors carry a byte offset,
/// like [`jmespath::parse`]'s.
pub(crate) fn parse(expr: &str) -> Result<Ast, JmespathError> {
    let tokens = Lexer::new(expr).tokenize()?;
    Parser {
        tokens,
        eof: Token::Eof,
        expr,
        offset: 0,
    }
    .parse()
}

/// A token. Variants and their `Debug` text match the `jmespath` crate's (they appear
/// in error messages), plus the arithmetic ones.
#[derive(Clone, PartialEq, Debug)]
enum Token {
    Identifier(String),
    QuotedIdentifier(String),
    Number(i32),
    Literal(Rcvar),
    Dot,
    Star,
    Flatten,
    And,
    Or,
    Pipe,
    Filter,
    Lbracket,
    Rbracket,
    Comma,
    Colon,
    Not,
    Ne,
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
    At,
    Ampersand,
    Lparen,
    Rparen,
    Lbrace,
    Rbrace,
    Plus,
    Minus,
    /// `×` (an ASCII `*` is a [`Token::Star`] until the parser sees it infix).
    Multiply,
    Divide,
    Modulo,
    FloorDivide,
    Eof,
}

impl Token {
    /// Left binding power: the `jmespath` crate's, plus go-jmespath-community's for
    /// the arithmetic operators.
    fn lbp(&self) -> usize {
        match self {
            Token::Pipe => 1,
            Token::Or => 2,
            Token::And => 3,
            Token::Eq | Token::Gt | Token::Lt | Token::Gte | Token::Lte | Token::Ne => 5,
            Token::Plus | Token::Minus => 6,
            Token::Multiply | Token::Divide | Token::Modulo | Token::FloorDivide => 7,
            Token::Flatten => 9,
            Token::Star => 20,
            Token::Filter => 21,
            Token::Dot => 40,
            Token::Not => 45,
            Token::Lbrace => 50,
            Token::Lbracket => 55,
            Token::Lparen => 60,
            _ => 0,
        }
    }

    /// The hidden function of a binary arithmetic operator token.
    fn binary_function(&self) -> Option<&'static str> {
        Some(match self {
            Token::Plus => ADD,
            Token::Minus => SUBTRACT,
            Token::Star | Token::Multiply => MULTIPLY,
            Token::Divide => DIVIDE,
            Token::Modulo => MODULO,
            Token::FloorDivide => FLOOR_DIVIDE,
            _ => return None,
        })
    }
}

/// Binding power at or above which a token continues a projection.
const PROJECTION_STOP: usize = 10;

fn parse_error(expr: &str, offset: usize, message: String) -> JmespathError {
    JmespathError::new(expr, offset, ErrorReason::Parse(message))
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    expr: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(expr: &'a str) -> Self {
        Lexer {
            chars: expr.char_indices().peekable(),
            expr,
        }
    }

    fn tokenize(mut self) -> Result<VecDeque<(usize, Token)>, JmespathError> {
        let mut tokens = VecDeque::new();
        while let Some((pos, c)) = self.chars.next() {
            let token = match c {
                'a'..='z' | 'A'..='Z' | '_' => {
                    let mut name = c.to_string();
                    while let Some(&(_, d)) = self.chars.peek() {
                        if !(d.is_ascii_alphanumeric() || d == '_') {
                            break;
                        }
                        name.push(d);
                        self.chars.next();
                    }
                    Token::Identifier(name)
                }
                '.' => Token::Dot,
                '[' => match self.chars.peek() {
                    Some(&(_, ']')) => {
                        self.chars.next();
                        Token::Flatten
                    }
                    Some(&(_, '?')) => {
                        self.chars.next();
                        Token::Filter
                    }
                    _ => Token::Lbracket,
                },
                '*' => Token::Star,
                '|' => self.alt('|', Token::Or, Token::Pipe),
                '@' => Token::At,
                ']' => Token::Rbracket,
                '{' => Token::Lbrace,
                '}' => Token::Rbrace,
                '&' => self.alt('&', Token::And, Token::Ampersand),
                '(' => Token::Lparen,
                ')' => Token::Rparen,
                ',' => Token::Comma,
                ':' => Token::Colon,
                '"' => self.quoted(pos)?,
                '\'' => self.raw_string(pos)?,
                '`' => self.literal(pos)?,
                '=' => match self.chars.next() {
                    Some((_, '=')) => Token::Eq,
                    _ => {
                        let message = "'=' is not valid. Did you mean '=='?".to_string();
                        return Err(parse_error(self.expr, pos, message));
                    }
                },
                '>' => self.alt('=', Token::Gte, Token::Gt),
                '<' => self.alt('=', Token::Lte, Token::Lt),
                '!' => self.alt('=', Token::Ne, Token::Not),
                '0'..='9' => self.number(pos, c, false)?,
                '-' => match self.chars.peek() {
                    Some(&(_, d)) if d.is_ascii_digit() => {
                        self.chars.next();
                        self.number(pos, d, true)?
                    }
                    _ => Token::Minus,
                },
                '\u{2212}' => Token::Minus,
                '+' => Token::Plus,
                '%' => Token::Modulo,
                '\u{00d7}' => Token::Multiply,
                '\u{00f7}' => Token::Divide,
                '/' => self.alt('/', Token::FloorDivide, Token::Divide),
                ' ' | '\n' | '\t' | '\r' => continue,
                c => {
                    let message = format!("Invalid character: {c}");
                    return Err(parse_error(self.expr, pos, message));
                }
            };
            tokens.push_back((pos, token));
        }
        tokens.push_back((self.expr.len(), Token::Eof));
        Ok(tokens)
    }

    fn alt(&mut self, second: char, matched: Token, single: Token) -> Token {
        match self.chars.peek() {
            Some(&(_, c)) if c == second => {
                self.chars.next();
                matched
            }
            _ => single,
        }
    }

    fn number(&mut self, pos: usize, first: char, negative: bool) -> Result<Token, JmespathError> {
        let mut digits = first.to_string();
        while let Some(&(_, d)) = self.chars.peek() {
            if !d.is_ascii_digit() {
                break;
            }
            digits.push(d);
            self.chars.next();
        }
        let value: i32 = digits
            .parse()
            .map_err(|_| parse_error(self.expr, pos, "Expected valid number".to_string()))?;
        Ok(Token::Number(if negative { -value } else { value }))
    }

    /// The text up to the closing `wrapper` (a backslash escapes any character and is
    /// kept), from just after the opening one at `pos`.
    fn inside(&mut self, pos: usize, wrapper: char) -> Result<String, JmespathError> {
        let mut buffer = String::new();
        while let Some((_, c)) = self.chars.next() {
            if c == wrapper {
                return Ok(buffer);
            }
            buffer.push(c);
            if c == '\\'
                && let Some((_, escaped)) = self.chars.next()
            {
                buffer.push(escaped);
            }
        }
        let message = format!("Unclosed {wrapper} delimiter: {wrapper}{buffer}");
        Err(parse_error(self.expr, pos, message))
    }

    fn quoted(&mut self, pos: usize) -> Result<Token, JmespathError> {
        let s = self.inside(pos, '"')?;
        match Variable::from_json(&format!("\"{s}\"")) {
            Ok(Variable::String(name)) => Ok(Token::QuotedIdentifier(name)),
            Ok(_) => Err(parse_error(
                self.expr,
                pos,
                "consume_quoted_identifier expected a string".to_string(),
            )),
            Err(e) => Err(parse_error(
                self.expr,
                pos,
                format!("Unable to parse quoted identifier {s}: {e}"),
            )),
        }
    }

    fn raw_string(&mut self, pos: usize) -> Result<Token, JmespathError> {
        let s = self.inside(pos, '\'')?;
        Ok(Token::Literal(Rcvar::new(Variable::String(
            s.replace("\\'", "'"),
        ))))
    }

    fn literal(&mut self, pos: usize) -> Result<Token, JmespathError> {
        let s = self.inside(pos, '`')?;
        match Variable::from_json(&s.replace("\\`", "`")) {
            Ok(v) => Ok(Token::Literal(Rcvar::new(v))),
            Err(e) => Err(parse_error(
                self.expr,
                pos,
                format!("Unable to parse literal JSON {s}: {e}"),
            )),
        }
    }
}

struct Parser<'a> {
    tokens: VecDeque<(usize, Token)>,
    eof: Token,
    expr: &'a str,
    /// Position of the last token taken (the `jmespath` crate's AST offsets use it).
    offset: usize,
}

type ParseResult = Result<Ast, JmespathError>;

impl Parser<'_> {
    fn parse(&mut self) -> ParseResult {
        let ast = self.expr(0)?;
        match self.peek(0) {
            Token::Eof => Ok(ast),
            t => Err(self.unexpected(t, "Did not parse the complete expression", true)),
        }
    }

    fn advance(&mut self) -> Token {
        self.advance_with_pos().1
    }

    fn advance_with_pos(&mut self) -> (usize, Token) {
        match self.tokens.pop_front() {
            Some((pos, token)) => {
                self.offset = pos;
                (pos, token)
            }
            None => (self.offset, Token::Eof),
        }
    }

    fn peek(&self, lookahead: usize) -> &Token {
        self.tokens.get(lookahead).map_or(&self.eof, |(_, t)| t)
    }

    fn err(&self, token: &Token, message: &str, is_peek: bool) -> JmespathError {
        let mut pos = self.offset;
        if is_peek && let Some(&(p, _)) = self.tokens.front() {
            pos = p;
        }
        parse_error(self.expr, pos, format!("{message} -- found {token:?}"))
    }

    /// [`Self::err`] for a token that cannot start or continue an expression, with a
    /// hint when it is a bare number (`a - 1`, `a -1`: numbers are JSON literals).
    fn unexpected(&self, token: &Token, message: &str, is_peek: bool) -> JmespathError {
        let mut e = self.err(token, message, is_peek);
        if let (Token::Number(n), ErrorReason::Parse(m)) = (token, &mut e.reason) {
            m.push_str(&format!(
                " (a number in an expression is a JSON literal in backticks, as in `{n}`)"
            ));
        }
        e
    }

    fn expr(&mut self, rbp: usize) -> ParseResult {
        let mut left = self.nud();
        while rbp < self.peek(0).lbp() {
            left = self.led(Box::new(left?));
        }
        left
    }

    fn nud(&mut self) -> ParseResult {
        let (offset, token) = self.advance_with_pos();
        match token {
            Token::At => Ok(Ast::Identity { offset }),
            Token::Identifier(name) => Ok(Ast::Field { name, offset }),
            Token::QuotedIdentifier(name) => match self.peek(0) {
                Token::Lparen => Err(self.err(
                    &Token::Lparen,
                    "Quoted strings can't be a function name",
                    true,
                )),
                _ => Ok(Ast::Field { name, offset }),
            },
            Token::Star => self.wildcard_values(Box::new(Ast::Identity { offset })),
            Token::Literal(value) => Ok(Ast::Literal { value, offset }),
            Token::Lbracket => match self.peek(0) {
                Token::Number(_) | Token::Colon => self.index(),
                Token::Star if self.peek(1) == &Token::Rbracket => {
                    self.advance();
                    self.wildcard_index(Box::new(Ast::Identity { offset }))
                }
                _ => self.multi_list(),
            },
            Token::Flatten => self.flatten(Box::new(Ast::Identity { offset })),
            Token::Lbrace => {
                let mut elements = vec![];
                loop {
                    elements.push(self.key_value()?);
                    match self.advance() {
                        Token::Rbrace => break,
                        Token::Comma => continue,
                        ref t => return Err(self.err(t, "Expected '}' or ','", false)),
                    }
                }
                Ok(Ast::MultiHash { elements, offset })
            }
            t @ Token::Ampersand => Ok(Ast::Expref {
                ast: Box::new(self.expr(t.lbp())?),
                offset,
            }),
            t @ Token::Not => Ok(Ast::Not {
                node: Box::new(self.expr(t.lbp())?),
                offset,
            }),
            Token::Filter => self.filter(Box::new(Ast::Identity { offset })),
            Token::Lparen => {
                let inner = self.expr(0)?;
                match self.advance() {
                    Token::Rparen => Ok(inner),
                    ref t => Err(self.err(t, "Expected ')' to close '('", false)),
                }
            }
            t @ (Token::Minus | Token::Plus) => {
                let operand = self.expr(t.lbp())?;
                Ok(Ast::Function {
                    offset,
                    name: (if t == Token::Minus {
                        NEGATE
                    } else {
                        UNARY_PLUS
                    })
                    .to_string(),
                    args: vec![operand],
                })
            }
            ref t => Err(self.unexpected(t, "Unexpected nud token", false)),
        }
    }

    fn led(&mut self, left: Box<Ast>) -> ParseResult {
        let (offset, token) = self.advance_with_pos();
        if let Some(name) = token.binary_function() {
            let rhs = self.expr(token.lbp())?;
            return Ok(Ast::Function {
                offset,
                name: name.to_string(),
                args: vec![*left, rhs],
            });
        }
        match token {
            t @ Token::Dot => {
                if self.peek(0) == &Token::Star {
                    self.advance();
                    self.wildcard_values(left)
                } else {
                    let rhs = self.dot(t.lbp())?;
                    Ok(Ast::Subexpr {
                        offset,
                        lhs: left,
                        rhs: Box::new(rhs),
                    })
                }
            }
            Token::Lbracket => {
                let index = match self.peek(0) {
                    Token::Number(_) | Token::Colon => true,
                    Token::Star => false,
                    t => return Err(self.err(t, "Expected number, ':', or '*'", true)),
                };
                if index {
                    Ok(Ast::Subexpr {
                        offset,
                        lhs: left,
                        rhs: Box::new(self.index()?),
                    })
                } else {
                    self.advance();
                    self.wildcard_index(left)
                }
            }
            t @ Token::Or => Ok(Ast::Or {
                offset,
                lhs: left,
                rhs: Box::new(self.expr(t.lbp())?),
            }),
            t @ Token::And => Ok(Ast::And {
                offset,
                lhs: left,
                rhs: Box::new(self.expr(t.lbp())?),
            }),
            t @ Token::Pipe => Ok(Ast::Subexpr {
                offset,
                lhs: left,
                rhs: Box::new(self.expr(t.lbp())?),
            }),
            Token::Lparen => match *left {
                Ast::Field { name, .. } => Ok(Ast::Function {
                    offset,
                    name,
                    args: self.list(Token::Rparen)?,
                }),
                _ => Err(self.err(self.peek(0), "Invalid function name", true)),
            },
            Token::Flatten => self.flatten(left),
            Token::Filter => self.filter(left),
            Token::Eq => self.comparison(Comparator::Equal, left),
            Token::Ne => self.comparison(Comparator::NotEqual, left),
            Token::Gt => self.comparison(Comparator::GreaterThan, left),
            Token::Gte => self.comparison(Comparator::GreaterThanEqual, left),
            Token::Lt => self.comparison(Comparator::LessThan, left),
            Token::Lte => self.comparison(Comparator::LessThanEqual, left),
            ref t => Err(self.err(t, "Unexpected led token", false)),
        }
    }

    fn key_value(&mut self) -> Result<KeyValuePair, JmespathError> {
        match self.advance() {
            Token::Identifier(key) | Token::QuotedIdentifier(key) => {
                if self.peek(0) == &Token::Colon {
                    self.advance();
                    Ok(KeyValuePair {
                        key,
                        value: self.expr(0)?,
                    })
                } else {
                    Err(self.err(self.peek(0), "Expected ':' to follow key", true))
                }
            }
            ref t => Err(self.err(t, "Expected Field to start key value pair", false)),
        }
    }

    fn filter(&mut self, lhs: Box<Ast>) -> ParseResult {
        let predicate = Box::new(self.expr(0)?);
        match self.advance() {
            Token::Rbracket => {
                let then = Box::new(self.projection_rhs(Token::Filter.lbp())?);
                Ok(Ast::Projection {
                    offset: self.offset,
                    lhs,
                    rhs: Box::new(Ast::Condition {
                        offset: self.offset,
                        predicate,
                        then,
                    }),
                })
            }
            ref t => Err(self.err(t, "Expected ']'", false)),
        }
    }

    fn flatten(&mut self, lhs: Box<Ast>) -> ParseResult {
        let rhs = Box::new(self.projection_rhs(Token::Flatten.lbp())?);
        Ok(Ast::Projection {
            offset: self.offset,
            lhs: Box::new(Ast::Flatten {
                offset: self.offset,
                node: lhs,
            }),
            rhs,
        })
    }

    fn comparison(&mut self, comparator: Comparator, lhs: Box<Ast>) -> ParseResult {
        let rhs = Box::new(self.expr(Token::Eq.lbp())?);
        Ok(Ast::Comparison {
            offset: self.offset,
            comparator,
            lhs,
            rhs,
        })
    }

    fn dot(&mut self, lbp: usize) -> ParseResult {
        let multi_list = match self.peek(0) {
            Token::Lbracket => true,
            Token::Identifier(_)
            | Token::QuotedIdentifier(_)
            | Token::Star
            | Token::Lbrace
            | Token::Ampersand => false,
            t => {
                return Err(self.err(t, "Expected identifier, '*', '{', '[', '&', or '[?'", true));
            }
        };
        if multi_list {
            self.advance();
            self.multi_list()
        } else {
            self.expr(lbp)
        }
    }

    fn projection_rhs(&mut self, lbp: usize) -> ParseResult {
        let dot = match self.peek(0) {
            Token::Dot => true,
            Token::Lbracket | Token::Filter => false,
            t if t.lbp() < PROJECTION_STOP => {
                return Ok(Ast::Identity {
                    offset: self.offset,
                });
            }
            t => return Err(self.err(t, "Expected '.', '[', or '[?'", true)),
        };
        if dot {
            self.advance();
            self.dot(lbp)
        } else {
            self.expr(lbp)
        }
    }

    fn wildcard_index(&mut self, lhs: Box<Ast>) -> ParseResult {
        match self.advance() {
            Token::Rbracket => {
                let rhs = Box::new(self.projection_rhs(Token::Star.lbp())?);
                Ok(Ast::Projection {
                    offset: self.offset,
                    lhs,
                    rhs,
                })
            }
            ref t => Err(self.err(t, "Expected ']' for wildcard index", false)),
        }
    }

    fn wildcard_values(&mut self, lhs: Box<Ast>) -> ParseResult {
        let rhs = Box::new(self.projection_rhs(Token::Star.lbp())?);
        Ok(Ast::Projection {
            offset: self.offset,
            lhs: Box::new(Ast::ObjectValues {
                offset: self.offset,
                node: lhs,
            }),
            rhs,
        })
    }

    /// `[0]`, `[::-1]`, `[0:-1]`...
    fn index(&mut self) -> ParseResult {
        let mut parts = [None, None, None];
        let mut pos = 0;
        loop {
            match self.advance() {
                Token::Number(value) => {
                    parts[pos] = Some(value);
                    match self.peek(0) {
                        Token::Colon | Token::Rbracket => (),
                        t => return Err(self.err(t, "Expected ':', or ']'", true)),
                    }
                }
                Token::Rbracket => break,
                Token::Colon if pos >= 2 => {
                    return Err(self.err(&Token::Colon, "Too many colons in slice expr", false));
                }
                Token::Colon => {
                    pos += 1;
                    match self.peek(0) {
                        Token::Number(_) | Token::Colon | Token::Rbracket => continue,
                        t => return Err(self.err(t, "Expected number, ':', or ']'", true)),
                    }
                }
                ref t => return Err(self.err(t, "Expected number, ':', or ']'", false)),
            }
        }
        if pos == 0 {
            match parts[0] {
                Some(idx) => Ok(Ast::Index {
                    offset: self.offset,
                    idx,
                }),
                None => Err(parse_error(
                    self.expr,
                    self.offset,
                    "Expected parts[0] to be Some; but found None".to_string(),
                )),
            }
        } else {
            Ok(Ast::Projection {
                offset: self.offset,
                lhs: Box::new(Ast::Slice {
                    offset: self.offset,
                    start: parts[0],
                    stop: parts[1],
                    step: parts[2].unwrap_or(1),
                }),
                rhs: Box::new(self.projection_rhs(Token::Star.lbp())?),
            })
        }
    }

    fn multi_list(&mut self) -> ParseResult {
        Ok(Ast::MultiList {
            offset: self.offset,
            elements: self.list(Token::Rbracket)?,
        })
    }

    /// A comma-separated list of expressions up to `closing` (function arguments,
    /// multi-select lists).
    fn list(&mut self, closing: Token) -> Result<Vec<Ast>, JmespathError> {
        let mut nodes = vec![];
        while self.peek(0) != &closing {
            nodes.push(self.expr(0)?);
            if self.peek(0) == &Token::Comma {
                self.advance();
                if self.peek(0) == &closing {
                    return Err(self.err(self.peek(0), "invalid token after ','", true));
                }
            }
        }
        self.advance();
        Ok(nodes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::Value;

    /// Characters that can make an expression arithmetic (which `jmespath::parse`
    /// rejects).
    fn may_be_arithmetic(src: &str) -> bool {
        src.contains(['+', '-', '*', '/', '%', '\u{2212}', '\u{00d7}', '\u{00f7}'])
    }

    /// Checks `src` against `jmespath::parse`: the same AST when it accepts it; the same
    /// error (offset, message) when both reject it and `src` has no arithmetic.
    fn same_as_jmespath(src: &str) -> bool {
        match (parse(src), jmespath::parse(src)) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(ours, theirs, "AST differs for {src:?}");
                true
            }
            (Err(ours), Ok(_)) => panic!("{src:?}: jmespath accepts it, we reject it: {ours}"),
            (Ok(_), Err(theirs)) => {
                assert!(
                    may_be_arithmetic(src),
                    "{src:?}: jmespath rejects it ({theirs}), we accept it"
                );
                false
            }
            (Err(ours), Err(theirs)) => {
                if !may_be_arithmetic(src) {
                    assert_eq!(ours.offset, theirs.offset, "error offset for {src:?}");
                    let (ErrorReason::Parse(o), ErrorReason::Parse(t)) =
                        (&ours.reason, &theirs.reason)
                    else {
                        panic!("{src:?}: not parse errors");
                    };
                    assert!(o.starts_with(t.as_str()), "{src:?}: {o:?} vs {t:?}");
                }
                false
            }
        }
    }

    #[rstest]
    #[case("foo")]
    #[case("foo.bar.baz")]
    #[case("\"foo bar\".baz")]
    #[case("\"with \\\"escape\\\"\"")]
    #[case("foo[0]")]
    #[case("foo[-1]")]
    #[case("foo[10].bar")]
    #[case("foo[1:3]")]
    #[case("foo[::-1]")]
    #[case("foo[-3:-1:2].bar")]
    #[case("foo[:2]")]
    #[case("[0]")]
    #[case("[:1]")]
    #[case("foo[*]")]
    #[case("foo[*].bar")]
    #[case("foo[*].bar[*].baz")]
    #[case("foo[*][0]")]
    #[case("[*].a")]
    #[case("*.a")]
    #[case("*")]
    #[case("foo.*")]
    #[case("foo.*.bar")]
    #[case("foo[]")]
    #[case("foo[].bar[]")]
    #[case("[]")]
    #[case("foo[?bar]")]
    #[case("foo[?bar == `1`].baz")]
    #[case("foo[?a == 'x' && b != `null`] | [0]")]
    #[case("foo[?!(a || b)]")]
    #[case("foo[?a < `1` || a <= `2` || a > `3` || a >= `4`]")]
    #[case("[?a]")]
    #[case("foo[?contains(tags, 'x')].name | sort(@)")]
    #[case("{a: foo, \"b c\": bar[0]}")]
    #[case("foo.{a: a, b: b}")]
    #[case("foo[*].{a: a}")]
    #[case("[foo, bar[0], `1`]")]
    #[case("foo.[a, b]")]
    #[case("foo | bar | baz")]
    #[case("a || b && c")]
    #[case("(a || b) && c")]
    #[case("!a")]
    #[case("!!a")]
    #[case("@")]
    #[case("@.foo")]
    #[case("`true`")]
    #[case("`{\"a\": [1, 2.5, -3]}`")]
    #[case("`\"with \\` backtick\"`")]
    #[case("'raw string'")]
    #[case("'it\\'s'")]
    #[case("'$namespace + 1'")]
    #[case("sort_by(items, &metadata.name)")]
    #[case("max_by(@, &to_number(a))")]
    #[case("length(@)")]
    #[case("join('-', [a, b])")]
    #[case("not_null(a, b, `null`)")]
    #[case("a\n  .b\t|\r\nc")]
    #[case("__kanon_binding('values').image.tag")]
    #[case("items[?metadata.name == __kanon_binding('want')] | length(@) == `1`")]
    #[case("foo[?a==`1`]")]
    #[case("foo.&bar")]
    #[case("foo[?a].b[?c].d")]
    #[case("foo[].bar[?baz].qux[0]")]
    fn standard_expressions_parse_as_jmespath_does(#[case] src: &str) {
        assert!(same_as_jmespath(src), "{src:?} should be valid");
    }

    #[rstest]
    #[case("")]
    #[case("a.")]
    #[case("foo[?")]
    #[case("foo[")]
    #[case("foo[1")]
    #[case("foo[1:2:3:4]")]
    #[case("foo[a]")]
    #[case("{a}")]
    #[case("{a: b")]
    #[case("[a, ]")]
    #[case("f(a, )")]
    #[case("\"q\"(a)")]
    #[case("(a")]
    #[case("a = b")]
    #[case("a ||| b")]
    #[case("'open")]
    #[case("`open")]
    #[case("`{bad json}`")]
    #[case("a b")]
    #[case("#")]
    #[case("foo[99999999999]")]
    #[case("foo.[a")]
    #[case("foo.1")]
    #[case("[a](b)")]
    fn invalid_standard_expressions_fail_as_jmespath_does(#[case] src: &str) {
        assert!(!same_as_jmespath(src), "{src:?} should be invalid");
    }

    /// The `(...)` expressions of a YAML value: keys and string values, with Chainsaw's
    /// key decorations (`~name.`, `-> binding`) removed.
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => take(s, out),
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            Value::Object(m) => {
                for (k, x) in m {
                    take(k, out);
                    collect(x, out);
                }
            }
            _ => {}
        }
    }

    fn take(s: &str, out: &mut Vec<String>) {
        let mut s = s.trim();
        if s.starts_with('~')
            && let Some(dot) = s.find('.')
        {
            s = &s[dot + 1..];
        }
        if let Some(arrow) = s.rfind("->") {
            s = s[..arrow].trim_end();
        }
        if s.len() >= 2 && s.starts_with('(') && s.ends_with(')') {
            out.push(s[1..s.len() - 1].to_string());
        }
    }

    #[test]
    fn repository_expressions_parse_as_jmespath_does() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut sources = Vec::new();
        for dir in ["fixtures", "scenarios"] {
            for ext in ["yaml", "yml"] {
                let pattern = format!("{root}/{dir}/**/*.{ext}");
                for path in glob::glob(&pattern).unwrap() {
                    // Deliberately broken fixtures are skipped.
                    let Ok(text) = std::fs::read_to_string(path.unwrap()) else {
                        continue;
                    };
                    if let Ok(docs) = serde_saphyr::from_multiple::<Value>(&text) {
                        docs.iter().for_each(|d| collect(d, &mut sources));
                    }
                }
            }
        }
        let (mut valid, mut checked) = (0, 0);
        for src in &sources {
            let Ok((compiler, statement, _)) = super::super::split_compiler(src) else {
                continue;
            };
            if compiler == Some(super::super::Compiler::Cel) {
                continue;
            }
            let Ok((rewritten, _, _)) = super::super::rewrite_bindings(statement) else {
                continue;
            };
            checked += 1;
            if same_as_jmespath(&rewritten) {
                valid += 1;
            }
        }
        eprintln!(
            "{} found, {checked} JMESPath checked, {valid} valid",
            sources.len()
        );
        assert!(
            checked > 100 && valid > 100,
            "{checked} expressions checked, {valid} valid: corpus not found?"
        );
    }

    /// Random token soup: wherever `jmespath::parse` accepts the text, the ASTs are the
    /// same; wherever both reject text without arithmetic, the errors are the same.
    #[test]
    fn random_expressions_parse_as_jmespath_does() {
        const PIECES: &[&str] = &[
            "foo", "bar", "f", "length", "@", ".", "*", "[", "]", "[]", "[?", "{", "}", "(", ")",
            ",", ":", "|", "||", "&&", "&", "!", "==", "!=", "<", "<=", ">", ">=", "`1`", "`[1]`",
            "'s'", "\"q\"", "0", "1", "-1", "2", "a:", "=", "-", "+", "/", "%", "\n",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut valid = 0;
        for _ in 0..150_000 {
            let len = 1 + next(8);
            let mut src = String::new();
            for _ in 0..len {
                src.push_str(PIECES[next(PIECES.len())]);
                if next(3) == 0 {
                    src.push(' ');
                }
            }
            if same_as_jmespath(&src) {
                valid += 1;
            }
        }
        eprintln!("{valid} valid random expressions");
        assert!(valid > 1_000, "only {valid} valid random expressions");
    }

    /// The AST without offsets, for comparing shapes.
    fn shape(ast: &Ast) -> String {
        let debug = format!("{ast:?}");
        let mut out = String::new();
        let mut rest = debug.as_str();
        while let Some(i) = rest.find("offset: ") {
            out.push_str(&rest[..i]);
            rest = rest[i + "offset: ".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
            rest = rest.strip_prefix(", ").unwrap_or(rest);
        }
        out.push_str(rest);
        out
    }

    /// `expected` is standard JMESPath where `ADD(a, b)` stands for the hidden `+`
    /// function, `SUB` `-`, `MUL` `*`, `DIV` `/`, `MOD` `%`, `FDIV` `//`, `NEG` and
    /// `POS` the unary operators.
    #[rstest]
    #[case("a + b", "ADD(a, b)")]
    #[case("a - b", "SUB(a, b)")]
    #[case("a-b", "SUB(a, b)")]
    #[case("a * b", "MUL(a, b)")]
    #[case("a / b", "DIV(a, b)")]
    #[case("a % b", "MOD(a, b)")]
    #[case("a // b", "FDIV(a, b)")]
    #[case("a \u{2212} b", "SUB(a, b)")]
    #[case("a \u{00d7} b", "MUL(a, b)")]
    #[case("a \u{00f7} b", "DIV(a, b)")]
    #[case("a + b * c", "ADD(a, MUL(b, c))")]
    #[case("a * b + c", "ADD(MUL(a, b), c)")]
    #[case("(a + b) * c", "MUL(ADD(a, b), c)")]
    #[case("a - b - c", "SUB(SUB(a, b), c)")]
    #[case("a / b / c", "DIV(DIV(a, b), c)")]
    #[case("a * b % c", "MOD(MUL(a, b), c)")]
    #[case("a % b * c", "MOD(a, MUL(b, c))")]
    #[case("a / b * c", "DIV(a, MUL(b, c))")]
    #[case("a \u{00d7} b / c", "DIV(MUL(a, b), c)")]
    #[case("a + b - c", "SUB(ADD(a, b), c)")]
    #[case("-a", "NEG(a)")]
    #[case("+a", "POS(a)")]
    #[case("- -a", "NEG(NEG(a))")]
    #[case("- `-1`", "NEG(`-1`)")]
    #[case("-a * b", "NEG(MUL(a, b))")]
    #[case("-a + b", "ADD(NEG(a), b)")]
    #[case("a - -b", "SUB(a, NEG(b))")]
    #[case("!a + b", "ADD(!a, b)")]
    #[case("a + b == c - d", "ADD(a, b) == SUB(c, d)")]
    #[case("a == b + c", "a == ADD(b, c)")]
    #[case("a + b > c && d", "ADD(a, b) > c && d")]
    #[case("a + b | c", "ADD(a, b) | c")]
    #[case("a | b + c", "a | ADD(b, c)")]
    #[case("a.b * c.d", "MUL(a.b, c.d)")]
    #[case("a[0] * b[1]", "MUL(a[0], b[1])")]
    #[case("f(a) * g(b, c)", "MUL(f(a), g(b, c))")]
    #[case("foo[*].a + `1`", "ADD(foo[*].a, `1`)")]
    #[case("foo[*].a * `2`", "MUL(foo[*].a, `2`)")]
    #[case("foo[?a * `2` > `10`].b", "foo[?MUL(a, `2`) > `10`].b")]
    #[case("foo[] + a", "ADD(foo[], a)")]
    #[case("a + foo[]", "ADD(a, foo[])")]
    #[case("a * *.b", "MUL(a, *.b)")]
    #[case("a * [*]", "MUL(a, [*])")]
    #[case("{s: a + b}", "{s: ADD(a, b)}")]
    #[case("[a * b, -c]", "[MUL(a, b), NEG(c)]")]
    #[case("sort_by(@, &a - b)", "sort_by(@, &SUB(a, b))")]
    #[case(
        "items[*].price | sum(@) / length(@)",
        "items[*].price | DIV(sum(@), length(@))"
    )]
    fn arithmetic_parses_like_go_jmespath_community(#[case] src: &str, #[case] expected: &str) {
        let expected = expected
            .replace("ADD(", "__kanon_add(")
            .replace("SUB(", "__kanon_subtract(")
            .replace("MUL(", "__kanon_multiply(")
            .replace("FDIV(", "__kanon_floor_divide(")
            .replace("DIV(", "__kanon_divide(")
            .replace("MOD(", "__kanon_modulo(")
            .replace("NEG(", "__kanon_negate(")
            .replace("POS(", "__kanon_unary_plus(");
        let ours = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        let theirs = jmespath::parse(&expected).unwrap();
        assert_eq!(shape(&ours), shape(&theirs), "{src:?}");
    }

    #[rstest]
    #[case("a +", 3, "Unexpected nud token -- found Eof")]
    #[case("a + 1", 4, "JSON literal in backticks, as in `1`")]
    #[case("a -1", 2, "Did not parse the complete expression -- found Number(-1)")]
    #[case("a -1", 2, "as in `-1`")]
    #[case("length(@) * 2", 12, "as in `2`")]
    #[case("foo[*] * `2`", 7, "Expected '.', '[', or '[?' -- found Star")]
    #[case("a * ", 4, "Unexpected nud token")]
    #[case("a // ", 5, "Unexpected nud token")]
    #[case("* a", 2, "Did not parse the complete expression")]
    #[case("a ^ b", 2, "Invalid character: ^")]
    fn arithmetic_parse_errors(#[case] src: &str, #[case] offset: usize, #[case] message: &str) {
        let e = parse(src).unwrap_err();
        assert_eq!(e.offset, offset, "{src:?}: {e}");
        assert!(e.reason.to_string().contains(message), "{src:?}: {e}");
    }
}
