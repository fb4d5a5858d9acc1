//! Go's time vocabulary for the `time_*` functions: RFC 3339 times that keep their
//! offset, Go layouts (`2006-01-02 15:04:05`), and signed Go durations (`-1h30m0s`).
//!
//! Chainsaw (through Kyverno) formats every time as Go's `time.RFC3339` (`Z` for UTC,
//! `+02:00` otherwise, no fraction) and every duration with Go's `Duration.String`.

use jiff::fmt::strtime::BrokenDownTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

use crate::scenario::parse_duration;

/// A time with the offset it was written in (Go keeps it through `Add` / `Truncate`).
#[derive(Clone, Debug, PartialEq)]
pub struct GoTime {
    /// The instant.
    pub at: Timestamp,
    /// The offset it is shown in.
    pub offset: Offset,
}

/// Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch: Go truncates
/// relative to its zero time.
const GO_ZERO_TO_UNIX: i128 = 62_135_596_800;

impl GoTime {
    /// Now, in the local offset (`time_now`).
    pub fn now_local() -> Self {
        let z = Zoned::now();
        Self {
            at: z.timestamp(),
            offset: z.offset(),
        }
    }

    /// Now, in UTC (`time_now_utc`).
    pub fn now_utc() -> Self {
        Self {
            at: Timestamp::now(),
            offset: Offset::UTC,
        }
    }

    /// Parses RFC 3339 (`2024-01-02T03:04:05Z`, `...05.5+02:00`), as Go's
    /// `time.Parse(time.RFC3339, s)` does.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        parse_with(
            &[Piece::Date, Piece::Lit("T"), Piece::Clock, Piece::Zone],
            s,
        )
        .map_err(|e| format!("parsing time {s:?} as RFC 3339: {e}"))
    }

    /// Parses `s` with a Go layout (`2006-01-02`, `Jan _2 15:04:05`, `time.RFC1123`...).
    /// A layout without a zone gives UTC, as in Go.
    pub fn parse_layout(layout: &str, s: &str) -> Result<Self, String> {
        let pieces = layout_pieces(layout)?;
        parse_with(&pieces, s).map_err(|e| format!("parsing time {s:?} as {layout:?}: {e}"))
    }

    /// Go's `time.RFC3339` formatting.
    pub fn rfc3339(&self) -> String {
        let z = self.zoned();
        let base = z.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        if self.offset == Offset::UTC {
            format!("{base}Z")
        } else {
            format!("{base}{}", z.strftime("%:z"))
        }
    }

    /// The civil time in its offset.
    pub fn zoned(&self) -> Zoned {
        self.at.to_zoned(TimeZone::fixed(self.offset))
    }

    /// The time in UTC.
    pub fn utc(&self) -> Self {
        Self {
            at: self.at,
            offset: Offset::UTC,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn nanos(&self) -> i128 {
        self.at.as_nanosecond()
    }

    /// This time moved by `nanos`.
    pub fn add_nanos(&self, nanos: i128) -> Result<Self, String> {
        let at = Timestamp::from_nanosecond(self.nanos() + nanos)
            .map_err(|e| format!("time out of range: {e}"))?;
        Ok(Self {
            at,
            offset: self.offset,
        })
    }

    /// Go's `Time.Truncate(d)`: rounds down to a multiple of `d` since Go's zero time
    /// (`d <= 0` leaves the time unchanged).
    pub fn truncate(&self, d: i128) -> Result<Self, String> {
        if d <= 0 {
            return Ok(self.clone());
        }
        let since_zero = self.nanos() + GO_ZERO_TO_UNIX * 1_000_000_000;
        self.add_nanos(-since_zero.rem_euclid(d))
    }
}

/// Parses a Go duration that may be negative (`-1h30m`), in nanoseconds.
pub fn parse_signed_duration(s: &str) -> Result<i128, String> {
    let t = s.trim();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let d = parse_duration(rest).map_err(|e| e.replace(&format!("{rest:?}"), &format!("{s:?}")))?;
    let n = d.as_nanos() as i128;
    Ok(if neg { -n } else { n })
}

/// Go's `Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `1.5µs`, `0s`, `-2m0s`.
pub fn go_duration_string(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let frac = |v: u128, digits: u32| -> String {
        // v in units of 10^-digits, printed without trailing zeros.
        let scale = 10u128.pow(digits);
        let (whole, rest) = (v / scale, v % scale);
        if rest == 0 {
            whole.to_string()
        } else {
            let f = format!("{rest:0width$}", width = digits as usize);
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", frac(u, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", frac(u, 6));
    }
    let h = u / 3_600_000_000_000;
    let m = (u / 60_000_000_000) % 60;
    let s = u % 60_000_000_000;
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", frac(s, 9)));
    out
}

/// Parts of a layout.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    /// `2006-01-02`.
    Date,
    /// `15:04:05` with an optional fraction.
    Clock,
    /// `Z07:00` (`Z` or `±hh:mm`).
    Zone,
    /// A `strftime` directive jiff understands.
    Directive(&'static str),
    /// A fraction of a second (`.000`, `.999`).
    Fraction,
    /// Text matched as is.
    Lit(&'static str),
    /// Text matched as is (from the layout).
    Text(String),
}

/// Go layout tokens, longest first where one is a prefix of another.
const TOKENS: &[(&str, Piece)] = &[
    ("January", Piece::Directive("%B")),
    ("Jan", Piece::Directive("%b")),
    ("Monday", Piece::Directive("%A")),
    ("Mon", Piece::Directive("%a")),
    ("MST", Piece::Directive("%Z")),
    ("2006", Piece::Directive("%Y")),
    ("Z07:00", Piece::Zone),
    ("Z0700", Piece::Directive("%z")),
    ("-07:00", Piece::Directive("%:z")),
    ("-0700", Piece::Directive("%z")),
    ("01", Piece::Directive("%m")),
    ("02", Piece::Directive("%d")),
    ("_2", Piece::Directive("%e")),
    ("15", Piece::Directive("%H")),
    ("03", Piece::Directive("%I")),
    ("04", Piece::Directive("%M")),
    ("05", Piece::Directive("%S")),
    ("06", Piece::Directive("%y")),
    ("PM", Piece::Directive("%p")),
    ("pm", Piece::Directive("%P")),
    ("1", Piece::Directive("%-m")),
    ("2", Piece::Directive("%-d")),
    ("3", Piece::Directive("%-I")),
    ("4", Piece::Directive("%-M")),
    ("5", Piece::Directive("%-S")),
];

fn layout_pieces(layout: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = layout;
    let mut text = String::new();
    'outer: while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
            let zeros = after.len() - after.trim_start_matches('0').len();
            let nines = after.len() - after.trim_start_matches('9').len();
            let n = zeros.max(nines);
            if n > 0 {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Fraction);
                rest = &after[n..];
                continue;
            }
        }
        for (tok, piece) in TOKENS {
            if let Some(after) = rest.strip_prefix(tok) {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(piece.clone());
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Turns the pieces into one jiff format, rewriting `s` where Go accepts more than jiff
/// (`Z` for a zero offset, a fraction after the seconds).
fn parse_with(pieces: &[Piece], s: &str) -> Result<GoTime, String> {
    let mut format = String::new();
    let mut input = s.to_string();
    for p in pieces {
        match p {
            Piece::Date => format.push_str("%Y-%m-%d"),
            Piece::Clock => format.push_str("%H:%M:%S%.f"),
            Piece::Fraction => format.push_str("%.f"),
            Piece::Zone => {
                if input.ends_with('Z') || input.ends_with('z') {
                    input.truncate(input.len() - 1);
                    input.push_str("+00:00");
                }
                format.push_str("%:z");
            }
            Piece::Directive(d) => format.push_str(d),
            Piece::Lit(t) => format.push_str(&t.replace('%', "%%")),
            Piece::Text(t) => format.push_str(&t.replace('%', "%%")),
        }
    }
    let tm = BrokenDownTime::parse(&format, &input).map_err(|e| e.to_string())?;
    let offset = tm.offset().unwrap_or(Offset::UTC);
    let at = match tm.offset() {
        Some(_) => tm.to_timestamp().map_err(|e| e.to_string())?,
        None => tm
            .to_datetime()
            .and_then(|dt| dt.to_zoned(TimeZone::UTC))
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string())?,
    };
    Ok(GoTime { at, offset })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z")]
    #[case("2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05Z")]
    #[case("2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05+02:00")]
    fn rfc3339_round_trips(#[case] input: &str, #[case] output: &str) {
        assert_eq!(GoTime::parse_rfc3339(input).unwrap().rfc3339(), output);
    }

    #[rstest]
    #[case("2006-01-02", "2023-07-14", "2023-07-14T00:00:00Z")]
    #[case("2006-01-02 15:04:05", "2023-07-14 09:08:07", "2023-07-14T09:08:07Z")]
    #[case(
        "02 Jan 06 15:04 -0700",
        "14 Jul 23 09:08 +0200",
        "2023-07-14T09:08:00+02:00"
    )]
    #[case(
        "2006-01-02T15:04:05.000Z07:00",
        "2023-07-14T09:08:07.250Z",
        "2023-07-14T09:08:07Z"
    )]
    fn go_layouts_parse(#[case] layout: &str, #[case] input: &str, #[case] output: &str) {
        assert_eq!(
            GoTime::parse_layout(layout, input).unwrap().rfc3339(),
            output,
            "{layout}"
        );
    }

    #[rstest]
    #[case(0, "0s")]
    #[case(1, "1ns")]
    #[case(1_500, "1.5µs")]
    #[case(500_000_000, "500ms")]
    #[case(1_500_000_000, "1.5s")]
    #[case(90_000_000_000, "1m30s")]
    #[case(3_600_000_000_000, "1h0m0s")]
    #[case(-120_000_000_000, "-2m0s")]
    fn durations_print_like_go(#[case] nanos: i128, #[case] text: &str) {
        assert_eq!(go_duration_string(nanos), text);
    }

    #[test]
    fn signed_durations_parse() {
        assert_eq!(parse_signed_duration("-1m").unwrap(), -60_000_000_000);
        assert_eq!(parse_signed_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert!(parse_signed_duration("soon").is_err());
    }

    #[test]
    fn truncation_is_relative_to_go_zero_time() {
        let t = GoTime::parse_rfc3339("2024-01-02T03:34:05+01:00").unwrap();
        assert_eq!(
            t.truncate(3_600_000_000_000).unwrap().rfc3339(),
            "2024-01-02T03:00:00+01:00"
        );
    }
}
