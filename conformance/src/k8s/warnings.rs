//! The API server's warnings (`Warning` response headers: deprecated APIs, unknown
//! fields...) of the requests an operation makes, for Chainsaw's `$warnings` binding.
//!
//! Every client kanon builds ([`client`]) carries [`WarningLayer`], which hands the
//! warnings of each response to the task that awaits it; [`capture`] collects those of a
//! future. kube's client polls a response on the calling task (its buffer only forwards
//! the call), so the warnings reach the operation that made the request, even with many
//! scenarios sharing one client.

use std::cell::RefCell;
use std::future::Future;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Request, Response};
use serde::Serialize;
use tower::{Layer, Service};

/// One warning, as Chainsaw shows it: `299 - "text"` is `{code: 299, agent: "-", text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The warn-code (299 from the API server).
    pub code: u16,
    /// The warn-agent (`-` from the API server).
    pub agent: String,
    /// The text, unquoted.
    pub text: String,
}

/// Parses one `Warning` header value (RFC 7234: `code SP agent SP "text" [SP "date"]`).
pub fn parse(value: &str) -> Option<Warning> {
    let (code, rest) = value.trim().split_once(' ')?;
    let (agent, rest) = rest.trim_start().split_once(' ')?;
    let quoted = rest.trim_start().strip_prefix('"')?;
    let mut text = String::new();
    let mut chars = quoted.chars();
    loop {
        match chars.next()? {
            '\\' => text.push(chars.next()?),
            '"' => break,
            c => text.push(c),
        }
    }
    Some(Warning {
        code: code.parse().ok()?,
        agent: agent.to_string(),
        text,
    })
}

tokio::task_local! {
    static SINK: RefCell<Vec<Warning>>;
}

/// Runs `f`, returning its output and the warnings of the API responses it awaited.
pub async fn capture<F: Future>(f: F) -> (F::Output, Vec<Warning>) {
    SINK.scope(RefCell::new(Vec::new()), async {
        let out = f.await;
        let warnings = SINK.with(|s| s.take());
        (out, warnings)
    })
    .await
}

fn record<B>(response: &Response<B>) {
    let warnings: Vec<Warning> = response
        .headers()
        .get_all(http::header::WARNING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(parse)
        .collect();
    if !warnings.is_empty() {
        // Outside `capture` nobody asked: the warnings are dropped.
        let _ = SINK.try_with(|s| s.borrow_mut().extend(warnings));
    }
}

/// The tower layer that records responses' warnings for [`capture`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WarningLayer;

impl<S> Layer<S> for WarningLayer {
    type Service = WarningService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WarningService { inner }
    }
}

/// See [`WarningLayer`].
#[derive(Clone, Debug)]
pub struct WarningService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WarningService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            record(&response);
            Ok(response)
        })
    }
}

/// A client for `config` whose responses' warnings reach [`capture`].
pub fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&WarningLayer)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case(r#"299 - "unknown field \"spec\"""#, Some((299, "-", r#"unknown field "spec""#)))]
    #[case(r#"299 - "v1 ComponentStatus is deprecated in v1.19+" "Tue, 15 Nov 1994 08:12:31 GMT""#, Some((299, "-", "v1 ComponentStatus is deprecated in v1.19+")))]
    #[case("299 -", None)]
    #[case(r#"abc - "x""#, None)]
    #[case(r#"299 - "unterminated"#, None)]
    fn warning_headers(#[case] header: &str, #[case] expected: Option<(u16, &str, &str)>) {
        let got = parse(header);
        assert_eq!(
            got.as_ref()
                .map(|w| (w.code, w.agent.as_str(), w.text.as_str())),
            expected
        );
    }

    #[tokio::test]
    async fn a_response_s_warnings_reach_the_capture_that_awaited_it() {
        let mut svc = WarningLayer.layer(tower::service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(
                Response::builder()
                    .header("warning", r#"299 - "first""#)
                    .header("warning", r#"299 - "second""#)
                    .body(())
                    .unwrap(),
            )
        }));
        let ((), warnings) = capture(async {
            svc.call(Request::new(())).await.unwrap();
        })
        .await;
        let texts: Vec<&str> = warnings.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        // Outside a capture, nothing is kept and nothing fails.
        svc.call(Request::new(())).await.unwrap();
    }
}
