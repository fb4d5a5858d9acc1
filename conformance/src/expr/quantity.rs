//! Kubernetes resource quantities (`"10Mi"`, `"1.5Gi"`, `"500m"`, `"1e3"`), as
//! `k8s.io/apimachinery`'s `resource.Quantity` parses and prints them, for Kyverno's
//! arithmetic functions (`add('1Gi', '512Mi')` is `"1536Mi"`).
//!
//! A quantity is an exact decimal `unscaled × 10^-scale` and a [`Format`]. Parsing follows
//! `resource.ParseQuantity`: the suffix picks the format (`Ki`..`Ei` binary, `n`..`E`
//! decimal SI, `e3` / `E-2` decimal exponent); values are rounded up (away from zero) to
//! nano precision when they have more digits; binary values above 2^63-1 are capped, and
//! a binary value strictly between 0 and 1 becomes decimal SI. The representation's
//! scale is kept as Kubernetes keeps it (integer fast path or `inf.Dec` at scale 9),
//! because Kyverno's quantity ÷ number rounds at that scale. [`Quantity::canonical`] is
//! `Quantity.String()`: trailing zeros moved into the largest suffix that keeps the
//! number an integer (`1536Mi`, `1500m`, `1k`, `12e3`).
//!
//! Values live in 128-bit integers: a quantity whose digits do not fit (far beyond
//! anything Kubernetes holds) is reported as out of range instead.

/// How a quantity prints: the family of its suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `e3`, `E-6`: a power of ten written as an exponent.
    DecimalExponent,
    /// `Ki`, `Mi`, ... `Ei`: powers of 1024.
    BinarySi,
    /// `n`, `u`, `m`, (none), `k`, `M`, `G`, `T`, `P`, `E`: powers of 1000.
    DecimalSi,
}

/// A parsed quantity: `unscaled × 10^-scale`, printed in `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The digits.
    pub unscaled: i128,
    /// Decimal places (negative for trailing powers of ten).
    pub scale: i32,
    /// The suffix family it prints with.
    pub format: Format,
}

const DEC_SUFFIXES: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

const BIN_SUFFIXES: &[(&str, i32)] = &[
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

const NANO: i32 = 9;

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

fn out_of_range(s: &str) -> String {
    format!("quantity {s:?} is out of range")
}

/// The pieces `parseQuantityString` cuts a quantity into.
struct Pieces<'a> {
    positive: bool,
    /// Sign and number, without the suffix.
    value: &'a str,
    /// Integer digits without leading zeros (`"0"` when none are left).
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

fn split(s: &str) -> Result<Pieces<'_>, String> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Pieces {
            positive,
            value: "0",
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &s[start..pos];
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let d = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[d..pos];
    }
    let value = &s[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(format!(
            "quantity {s:?}: quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        ));
    }
    Ok(Pieces {
        positive,
        value,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// `(base, exponent, format)` of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    if let Some(&(_, e)) = DEC_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((10, e, Format::DecimalSi));
    }
    if let Some(&(_, e)) = BIN_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((2, e, Format::BinarySi));
    }
    let rest = suffix
        .strip_prefix('e')
        .or_else(|| suffix.strip_prefix('E'))?;
    if rest.is_empty() {
        return None;
    }
    // Go's strconv.ParseInt: an optional sign, then digits; the result is cut to int32.
    let e: i64 = rest.parse().ok()?;
    Some((10, e as i32, Format::DecimalExponent))
}

/// `10^-s` as Go's `math.Pow10(-s)` computes it (tables of exact powers).
fn go_pow10(n: i32) -> f64 {
    let lit = |k: i32| -> f64 { format!("1e{k}").parse().unwrap_or(f64::INFINITY) };
    if (0..=308).contains(&n) {
        lit(n % 32) * lit(32 * (n / 32))
    } else if (-323..0).contains(&n) {
        let m = -n;
        lit(-32 * (m / 32)) / lit(m % 32)
    } else if n > 0 {
        f64::INFINITY
    } else {
        0.0
    }
}

impl Quantity {
    /// `resource.ParseQuantity`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("quantities must match the regular expression".into());
        }
        if s == "0" {
            return Ok(Quantity {
                unscaled: 0,
                scale: 0,
                format: Format::DecimalSi,
            });
        }
        let p = split(s)?;
        let (base, exponent, mut format) = interpret(p.suffix)
            .ok_or_else(|| format!("quantity {s:?}: unable to parse quantity's suffix"))?;

        // The integer fast path (int64Amount): same value, scale as written.
        let mut mantissa: i64 = 1;
        let mut scale: i32 = 0;
        let precision: i32 = match format {
            Format::DecimalExponent | Format::DecimalSi => {
                scale = exponent;
                18 - (p.num.len() + p.denom.len()) as i32
            }
            Format::BinarySi => {
                if exponent >= 0 && p.denom.is_empty() {
                    mantissa <<= exponent;
                    15 - p.num.len() as i32 - ((exponent as f32) * 3.0 / 10.0) as i32 - 1
                } else {
                    -1
                }
            }
        };
        if precision >= 0 {
            scale -= p.denom.len() as i32;
            if scale >= -NANO {
                let shifted = format!("{}{}", p.num, p.denom);
                let value: i64 = shifted.parse().map_err(|_| {
                    format!("quantity {s:?}: unable to parse quantity's numeric part")
                })?;
                if let Some(r) = value.checked_mul(mantissa) {
                    return Quantity {
                        unscaled: if p.positive { r as i128 } else { -(r as i128) },
                        scale: -scale,
                        format,
                    }
                    .checked()
                    .map_err(|_| out_of_range(s));
                }
            }
        }

        // The general path (inf.Dec).
        let (int_part, frac_part) = match p.value.trim_start_matches(['+', '-']).split_once('.') {
            Some((i, f)) => (i, f),
            None => (p.value.trim_start_matches(['+', '-']), ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!(
                "quantity {s:?}: unable to parse quantity's numeric part"
            ));
        }
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let mut unscaled: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| out_of_range(s))?
        };
        let mut dscale = frac_part.len() as i32;
        if base == 10 {
            dscale -= exponent;
        } else {
            unscaled = unscaled
                .checked_mul(1i128 << exponent)
                .ok_or_else(|| out_of_range(s))?;
        }
        if unscaled != 0 {
            // Round up (away from zero) to nano precision; the scale becomes 9.
            if dscale > NANO {
                let d = pow10((dscale - NANO) as u32).ok_or_else(|| out_of_range(s))?;
                let (q, r) = (unscaled / d, unscaled % d);
                unscaled = if r != 0 { q + 1 } else { q };
            } else {
                let m = pow10((NANO - dscale) as u32).ok_or_else(|| out_of_range(s))?;
                unscaled = unscaled.checked_mul(m).ok_or_else(|| out_of_range(s))?;
            }
            dscale = NANO;
        }
        let max = i64::MAX as i128;
        if format == Format::BinarySi && dscale == NANO && unscaled > max * 1_000_000_000 {
            unscaled = max;
            dscale = 0;
        }
        let one = pow10(dscale.max(0) as u32).unwrap_or(i128::MAX);
        if format == Format::BinarySi && dscale >= 0 && unscaled > 0 && unscaled < one {
            format = Format::DecimalSi;
        }
        Quantity {
            unscaled: if p.positive { unscaled } else { -unscaled },
            scale: dscale,
            format,
        }
        .checked()
        .map_err(|_| out_of_range(s))
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.unscaled == 0
    }

    /// `self`, unless its digits are too large for 128-bit arithmetic (with headroom for
    /// printing: a binary quantity is printed from its integer value).
    fn checked(self) -> Result<Quantity, String> {
        let limit = i128::MAX / 1000;
        let fits = |v: i128| v.checked_abs().is_some_and(|a| a <= limit);
        let ok = fits(self.unscaled)
            && (self.format != Format::BinarySi
                || self.scale >= 0
                || pow10((-self.scale) as u32)
                    .and_then(|m| self.unscaled.checked_mul(m))
                    .is_some_and(fits));
        if ok {
            Ok(self)
        } else {
            Err("quantity out of range".into())
        }
    }

    /// Both unscaled values at the smaller scale (the one with more decimal places).
    fn aligned(&self, other: &Quantity) -> Option<(i128, i128, i32)> {
        let s = self.scale.max(other.scale);
        let up = |q: &Quantity| pow10((s - q.scale) as u32).and_then(|m| q.unscaled.checked_mul(m));
        Some((up(self)?, up(other)?, s))
    }

    /// `Quantity.Add`: exact; the format is the receiver's (the other's when it is zero).
    pub fn add(&self, other: &Quantity) -> Result<Quantity, String> {
        self.combine(other, i128::checked_add)
    }

    /// `Quantity.Sub`.
    pub fn sub(&self, other: &Quantity) -> Result<Quantity, String> {
        self.combine(other, i128::checked_sub)
    }

    /// `op` on the two values at a common scale, in the receiver's format (the other's
    /// when the receiver is zero), as Kubernetes' `Add` and `Sub` do.
    fn combine(
        &self,
        other: &Quantity,
        op: fn(i128, i128) -> Option<i128>,
    ) -> Result<Quantity, String> {
        let (a, b, scale) = self.aligned(other).ok_or("quantity out of range")?;
        Quantity {
            unscaled: op(a, b).ok_or("quantity out of range")?,
            scale,
            format: if self.is_zero() {
                other.format
            } else {
                self.format
            },
        }
        .checked()
    }

    /// The exact product (`inf.Dec.Mul`), in the receiver's format.
    pub fn mul(&self, other: &Quantity) -> Result<Quantity, String> {
        Quantity {
            unscaled: self
                .unscaled
                .checked_mul(other.unscaled)
                .ok_or("quantity out of range")?,
            scale: self.scale + other.scale,
            format: self.format,
        }
        .checked()
    }

    /// `inf.Dec.QuoRound(self, other, scale, RoundDown)`: the quotient truncated toward
    /// zero at `scale` decimal places, in the receiver's format. `other` must not be zero.
    pub fn quo_round_down(&self, other: &Quantity, scale: i32) -> Result<Quantity, String> {
        let e = scale - self.scale + other.scale;
        let (num, den) = if e >= 0 {
            let m = pow10(e as u32).ok_or("quantity out of range")?;
            (self.unscaled.checked_mul(m), Some(other.unscaled))
        } else {
            let m = pow10((-e) as u32).ok_or("quantity out of range")?;
            (Some(self.unscaled), other.unscaled.checked_mul(m))
        };
        let (num, den) = num.zip(den).ok_or("quantity out of range")?;
        if den == 0 {
            return Err("division by zero".into());
        }
        Quantity {
            unscaled: num / den,
            scale,
            format: self.format,
        }
        .checked()
    }

    /// `Quantity.AsApproximateFloat64`: the unscaled value times `math.Pow10(-scale)`.
    pub fn approx_f64(&self) -> f64 {
        let base = self.unscaled as f64;
        if self.scale == 0 {
            base
        } else {
            base * go_pow10(-self.scale)
        }
    }

    /// `Quantity.String()`: the canonical form.
    pub fn canonical(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut format = self.format;
        if format == Format::BinarySi {
            let integral =
                self.scale <= 0 || pow10(self.scale as u32).is_some_and(|d| self.unscaled % d == 0);
            let small = self.approx_abs_below_1024();
            if small || !integral {
                format = Format::DecimalSi;
            }
        }
        match format {
            Format::BinarySi => {
                // An integer at least 1024 in magnitude.
                let mut v = if self.scale <= 0 {
                    self.unscaled * pow10((-self.scale) as u32).unwrap_or(1)
                } else {
                    self.unscaled / pow10(self.scale as u32).unwrap_or(1)
                };
                let mut exp = 0;
                while v % 1024 == 0 {
                    v /= 1024;
                    exp += 10;
                }
                let suffix = if exp == 0 {
                    ""
                } else {
                    BIN_SUFFIXES
                        .iter()
                        .find(|(_, e)| *e == exp)
                        .map_or("", |(s, _)| *s)
                };
                format!("{v}{suffix}")
            }
            _ => {
                let mut m = self.unscaled;
                let mut exp = -self.scale;
                while m % 10 == 0 {
                    m /= 10;
                    exp += 1;
                }
                while exp % 3 != 0 {
                    m *= 10;
                    exp -= 1;
                }
                let suffix = match format {
                    Format::DecimalExponent if exp == 0 => String::new(),
                    Format::DecimalExponent => format!("e{exp}"),
                    // Go finds no suffix beyond n..E and prints the bare number.
                    _ => DEC_SUFFIXES
                        .iter()
                        .find(|(_, e)| *e == exp)
                        .map_or(String::new(), |(s, _)| s.to_string()),
                };
                format!("{m}{suffix}")
            }
        }
    }

    /// `-1024 < value < 1024`.
    fn approx_abs_below_1024(&self) -> bool {
        let limit = Quantity {
            unscaled: 1024,
            scale: 0,
            format: Format::DecimalSi,
        };
        match self.aligned(&limit) {
            Some((a, l, _)) => a.abs() < l,
            None => self.scale > 0,
        }
    }
}

/// Go's `fmt.Sprintf("%v", f)` for a float64: the shortest digits that round-trip,
/// in `%e` form (`1e+06`, `2.5e-05`) when the decimal exponent is below -4 or at least
/// 6 (Go's shortest `%g` decides with precision 6), plain otherwise (`100000`, `0.0001`).
pub fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let e_form = format!("{:e}", f.abs());
    let (mant, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let dp = exp + 1;
    if !(-4..6).contains(&exp) {
        let mut out = format!("{sign}{}", &digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{esign}{:02}", exp.abs()));
        out
    } else if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{sign}{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!(
            "{sign}{}.{}",
            &digits[..dp as usize],
            &digits[dp as usize..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn canon(s: &str) -> String {
        Quantity::parse(s).unwrap().canonical()
    }

    // Kubernetes' documented and tested canonical forms (quantity_test.go, the
    // Quantity doc comment: "1.5" is "1500m", "1.5Gi" is "1536Mi").
    #[rstest]
    #[case("0", "0")]
    #[case("0Ki", "0")]
    #[case("-0", "0")]
    #[case("1", "1")]
    #[case("1.5", "1500m")]
    #[case("1.5Gi", "1536Mi")]
    #[case("1Gi", "1Gi")]
    #[case("1024Mi", "1Gi")]
    #[case("1024", "1024")]
    #[case("1024Ki", "1Mi")]
    #[case("1000k", "1M")]
    #[case("1000", "1k")]
    #[case("1001", "1001")]
    #[case("100m", "100m")]
    #[case("1000m", "1")]
    #[case("0.1", "100m")]
    #[case("0.001", "1m")]
    #[case("0.0001", "100u")]
    #[case("0.5Ki", "512")]
    #[case("1.5Ki", "1536")]
    #[case("0.0001Ki", "102400u")]
    #[case("12Ki", "12Ki")]
    #[case("500m", "500m")]
    #[case("1e3", "1e3")]
    #[case("1E3", "1e3")]
    #[case("1e6", "1e6")]
    #[case("10e3", "10e3")]
    #[case("1000e3", "1e6")]
    #[case("1.5e3", "1500")]
    #[case("1e-3", "1e-3")]
    #[case("1e0", "1")]
    #[case("1n", "1n")]
    #[case("0.1n", "1n")]
    #[case("1.0000000001", "1000000001n")]
    #[case("1.00000000001", "1000000001n")]
    #[case("-1.00000000001", "-1000000001n")]
    #[case("1e-12", "1e-9")]
    #[case("1u", "1u")]
    #[case("1M", "1M")]
    #[case("1E", "1E")]
    #[case("1Ei", "1Ei")]
    #[case("8Ei", "9223372036854775807")]
    #[case("+1", "1")]
    #[case("-1Mi", "-1Mi")]
    #[case("-1.5Gi", "-1536Mi")]
    #[case("-500m", "-500m")]
    #[case(".5", "500m")]
    #[case("5.", "5")]
    #[case("007", "7")]
    #[case("1.", "1")]
    #[case("1e40", "10e39")]
    #[case("1000P", "1E")]
    fn canonical_forms(#[case] input: &str, #[case] want: &str) {
        assert_eq!(canon(input), want, "{input}");
        // The canonical form parses back to the same value.
        let back = Quantity::parse(want).unwrap();
        let orig = Quantity::parse(input).unwrap();
        assert_eq!(back.sub(&orig).unwrap().unscaled, 0, "{input} -> {want}");
    }

    #[rstest]
    #[case("")]
    #[case("1h")]
    #[case("1ms")]
    #[case("1s")]
    #[case("1K")]
    #[case("1Kib")]
    #[case("1e")]
    #[case("1e+")]
    #[case("1.5.5")]
    #[case("abc")]
    #[case(" 1")]
    #[case("1 ")]
    #[case("1mm")]
    // Beyond kanon's 128-bit digits (Kubernetes would take them).
    #[case("99999999999999999999999999999999999Ei")]
    #[case("99999999999999999999999999999999999999999")]
    fn not_quantities(#[case] input: &str) {
        assert!(Quantity::parse(input).is_err(), "{input}");
    }

    #[rstest]
    #[case("1Gi", "512Mi", "1536Mi")]
    #[case("1", "500m", "1500m")]
    #[case("12Ki", "13Ki", "25Ki")]
    #[case("12Ki", "13", "12301")]
    #[case("0", "1Ki", "1Ki")]
    #[case("1k", "1", "1001")]
    #[case("1e3", "1e3", "2e3")]
    #[case("100m", "900m", "1")]
    fn sums(#[case] a: &str, #[case] b: &str, #[case] want: &str) {
        let (a, b) = (Quantity::parse(a).unwrap(), Quantity::parse(b).unwrap());
        assert_eq!(a.add(&b).unwrap().canonical(), want);
    }

    #[rstest]
    #[case(0.0, "0")]
    #[case(2.0, "2")]
    #[case(2.5, "2.5")]
    #[case(-2.5, "-2.5")]
    #[case(100000.0, "100000")]
    #[case(1e6, "1e+06")]
    #[case(1234567.0, "1.234567e+06")]
    #[case(0.0001, "0.0001")]
    #[case(0.00001, "1e-05")]
    #[case(1e21, "1e+21")]
    #[case(123.456, "123.456")]
    #[case(1e100, "1e+100")]
    fn go_float_formatting(#[case] f: f64, #[case] want: &str) {
        assert_eq!(go_float_v(f), want);
    }

    #[rstest]
    #[case("12Ki", 0, 12288.0)]
    #[case("1.5", 1, 1.5)]
    #[case("1500m", 3, 1.5)]
    #[case("1k", -3, 1000.0)]
    #[case("1.5Gi", 9, 1610612736.0)]
    #[case("1e-12", 9, 1e-9)]
    fn representation_scale(#[case] s: &str, #[case] scale: i32, #[case] approx: f64) {
        let q = Quantity::parse(s).unwrap();
        assert_eq!(q.scale, scale, "{s}");
        assert!((q.approx_f64() - approx).abs() <= approx * 1e-15, "{s}");
    }
}
