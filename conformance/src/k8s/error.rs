//! Kubernetes client errors in words. `kube::Error`'s own `Display` appends the Rust
//! `Debug` dump of the API server's `Status` (`ApiError: ... (Status { ... })`); every
//! message kanon shows (console, JUnit, JSON, the conformance report) renders client
//! errors through [`describe`] instead.

use kube::core::Status;

/// The `reason` kube gives a `Status` it made up because the answer was not one (a plain
/// text body such as `404 page not found`).
const UNPARSED: &str = "Failed to parse error data";

/// One line about the API server's answer: its message, then its reason and HTTP code
/// (`configmaps "x" not found (NotFound, 404)`); an answer that was not a `Status`
/// object shows its text and code (`404 page not found (HTTP 404)`).
pub fn describe_status(s: &Status) -> String {
    let message = s.message.trim();
    let reason = s.reason.trim();
    let code = match s.code {
        0 => String::new(),
        c => c.to_string(),
    };
    let tail = match (reason, code.as_str()) {
        (UNPARSED | "", "") => String::new(),
        (UNPARSED | "", c) => format!("HTTP {c}"),
        (r, "") => r.to_string(),
        (r, c) => format!("{r}, {c}"),
    };
    match (message, tail.as_str()) {
        ("", "") => "the API server answered with an error and no message".to_string(),
        ("", t) => format!("the API server answered {t}"),
        (m, "") => m.to_string(),
        (m, t) => format!("{m} ({t})"),
    }
}

/// A client error in words: the API server's answer for [`kube::Error::Api`], otherwise
/// the error and its causes (`client error (Connect): tcp connect error: Connection
/// refused (os error 111)`), without kube's variant names.
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => describe_status(s),
        kube::Error::HyperError(inner) => with_causes(inner),
        kube::Error::Service(inner) => with_causes(inner.as_ref()),
        other => with_causes(other),
    }
}

/// A watch error in words (see [`describe`]).
pub fn describe_watch(e: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error;
    match e {
        Error::InitialListFailed(e) => format!("listing failed: {}", describe(e)),
        Error::WatchStartFailed(e) => format!("starting the watch failed: {}", describe(e)),
        Error::WatchError(s) => format!("the watch failed: {}", describe_status(s)),
        Error::WatchFailed(e) => format!("the watch failed: {}", describe(e)),
        Error::NoResourceVersion => e.to_string(),
    }
}

/// A condition wait's error in words (see [`describe`]).
pub fn describe_wait(e: &kube::runtime::wait::Error) -> String {
    match e {
        kube::runtime::wait::Error::ProbeFailed(w) => describe_watch(w),
    }
}

/// `e`, then each cause whose text the message does not already hold.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !c.is_empty() && !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn status(code: u16, reason: &str, message: &str) -> Status {
        Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Status::default()
        }
    }

    #[rstest]
    #[case(
        status(404, "NotFound", "configmaps \"x\" not found"),
        "configmaps \"x\" not found (NotFound, 404)"
    )]
    #[case(
        status(404, UNPARSED, "404 page not found\n"),
        "404 page not found (HTTP 404)"
    )]
    #[case(status(0, "", "something"), "something")]
    #[case(status(409, "Conflict", ""), "the API server answered Conflict, 409")]
    #[case(
        status(0, "", ""),
        "the API server answered with an error and no message"
    )]
    fn statuses_read_as_words(#[case] s: Status, #[case] expected: &str) {
        assert_eq!(describe_status(&s), expected);
    }

    #[test]
    fn no_debug_dump_reaches_the_text() {
        let e = kube::Error::Api(Box::new(status(404, UNPARSED, "404 page not found")));
        assert!(
            e.to_string().contains("Status {"),
            "kube's own rendering changed"
        );
        let text = describe(&e);
        assert!(
            !text.contains("Status {") && !text.contains("ApiError"),
            "{text}"
        );
        let w = kube::runtime::watcher::Error::InitialListFailed(e);
        let text = describe_watch(&w);
        assert_eq!(text, "listing failed: 404 page not found (HTTP 404)");
    }

    #[test]
    fn other_errors_keep_their_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = kube::Error::ReadEvents(io);
        assert_eq!(describe(&e), "Error reading events stream: refused");
    }
}
