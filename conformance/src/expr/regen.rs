//! `random(pattern)`: a random string matching a regular expression, as Kyverno's
//! `random` does with Go's `regen` (`[a-z0-9]{6}`, `(foo|bar)-\d{3}`).
//!
//! Unbounded repetitions (`*`, `+`, `{n,}`) add at most ten more items; anchors and
//! word boundaries generate nothing. Not for secrets: the generator is a small PRNG
//! seeded from the process's random hasher keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use regex_syntax::hir::{Class, Hir, HirKind};

/// How many items an unbounded repetition may add beyond its minimum.
const UNBOUNDED_EXTRA: u32 = 10;

/// A splitmix64 generator.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Self(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random string matching `pattern`.
pub fn generate(pattern: &str) -> Result<String, String> {
    if pattern.is_empty() {
        return Err("no pattern provided".into());
    }
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
    let mut out = String::new();
    emit(&hir, &mut Rng::seeded(), &mut out)?;
    Ok(out)
}

fn emit(hir: &Hir, rng: &mut Rng, out: &mut String) -> Result<(), String> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(Class::Unicode(c)) => {
            let total: u64 = c
                .ranges()
                .iter()
                .map(|r| u64::from(r.end()) - u64::from(r.start()) + 1)
                .sum();
            if total == 0 {
                return Err("a character class matches nothing".into());
            }
            let mut pick = rng.below(total);
            for r in c.ranges() {
                let size = u64::from(r.end()) - u64::from(r.start()) + 1;
                if pick < size {
                    // Surrogates are not in Unicode classes, so this always succeeds.
                    if let Some(ch) = char::from_u32(u32::from(r.start()) + pick as u32) {
                        out.push(ch);
                    }
                    break;
                }
                pick -= size;
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            let ascii: Vec<u8> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .filter(u8::is_ascii)
                .collect();
            if ascii.is_empty() {
                return Err("a byte class matches no ASCII character".into());
            }
            out.push(ascii[rng.below(ascii.len() as u64) as usize] as char);
        }
        HirKind::Repetition(r) => {
            let max = r.max.unwrap_or(r.min.saturating_add(UNBOUNDED_EXTRA));
            let n = r.min + rng.below(u64::from(max - r.min) + 1) as u32;
            for _ in 0..n {
                emit(&r.sub, rng, out)?;
            }
        }
        HirKind::Capture(c) => emit(&c.sub, rng, out)?,
        HirKind::Concat(parts) => {
            for p in parts {
                emit(p, rng, out)?;
            }
        }
        HirKind::Alternation(alts) => {
            let i = rng.below(alts.len() as u64) as usize;
            emit(&alts[i], rng, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("[a-z0-9]{6}")]
    #[case("(foo|bar)-\\d{3}")]
    #[case("^x[A-F]+y$")]
    #[case("ab?c*")]
    fn generated_strings_match_their_pattern(#[case] pattern: &str) {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        for _ in 0..50 {
            let s = generate(pattern).unwrap();
            assert!(re.is_match(&s), "{s:?} does not match {pattern}");
        }
    }

    #[test]
    fn strings_vary() {
        let a: std::collections::BTreeSet<String> =
            (0..20).map(|_| generate("[a-z]{12}").unwrap()).collect();
        assert!(a.len() > 1);
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(generate("").is_err());
        assert!(generate("[z-a]").is_err());
    }
}
