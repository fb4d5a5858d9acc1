//! The API fault proxy: a plain-HTTP server on 127.0.0.1 that kanon puts between the
//! operator under test and the API server.
//!
//! Every request is forwarded to the real API server with kanon's credentials (the
//! cluster kubeconfig's client certificate or token), bodies streamed both ways: a watch
//! stays a long-lived chunked response, nothing is buffered. Two faults can be switched on
//! at run time, each for a bounded time after which it ends by itself:
//! - [`FaultProxy::fail_writes`]: a deterministic share of the writes is answered with an
//!   injected error (a metav1.Status) instead of being forwarded;
//! - [`FaultProxy::fail_reads`]: every read of one named object of the given resources
//!   (a `GET` of `.../RESOURCE/NAME`; never a list or a watch) is answered with an
//!   injected error;
//! - [`FaultProxy::outage`]: every open connection (watches included) is cut and new
//!   ones are refused.
//!
//! The proxy counts what it injected ([`FaultProxy::counts`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kube::client::ConfigExt;
use secrecy::ExposeSecret;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use super::FaultError;
use super::plan::{self, FaultCounts};

type ProxyBody = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;
type Upstream = Client<hyper_rustls::HttpsConnector<HttpConnector>, Incoming>;

/// Headers that belong to one hop and are not forwarded (RFC 9110 7.6.1), plus `host`,
/// which the upstream client sets.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// A write fault in force.
#[derive(Debug)]
struct WriteFault {
    /// Resource plurals whose writes may fail; empty: every write.
    resources: Vec<String>,
    statuses: Vec<u16>,
    ratio: f64,
    until: Instant,
    seen: u64,
    injected: u64,
}

/// A read fault in force.
#[derive(Debug)]
struct ReadFault {
    resources: Vec<String>,
    statuses: Vec<u16>,
    until: Instant,
    injected: u64,
}

/// The faults in force and the counters.
#[derive(Debug, Default)]
struct Faults {
    writes: Option<WriteFault>,
    reads: Option<ReadFault>,
    outage_until: Option<Instant>,
    counts: FaultCounts,
}

impl Faults {
    fn outage_active(&self, now: Instant) -> bool {
        self.outage_until.is_some_and(|u| now < u)
    }
}

struct Shared {
    upstream: Upstream,
    base: Uri,
    authorization: Option<HeaderValue>,
    faults: Mutex<Faults>,
    /// Bumped when an outage starts: every open connection ends.
    cut: watch::Sender<u64>,
}

/// A running fault proxy; dropping it stops it and ends its connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The `Authorization` header for `config`'s credentials, if they are a token. Client
/// certificates travel in the TLS handshake; exec plugins and auth providers are not
/// supported (the proxy would have to refresh their tokens).
fn authorization(config: &kube::Config) -> Result<Option<HeaderValue>, FaultError> {
    let auth = &config.auth_info;
    if auth.exec.is_some() || auth.auth_provider.is_some() {
        return Err(FaultError::UnsupportedAuth(
            "the kubeconfig authenticates with an exec plugin or auth provider".into(),
        ));
    }
    let token = match (&auth.token, &auth.token_file) {
        (Some(t), _) => Some(t.expose_secret().to_string()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| FaultError::UnsupportedAuth(format!("token file {file}: {e}")))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    token
        .map(|t| {
            let mut v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                FaultError::UnsupportedAuth("the token is not a valid header".into())
            })?;
            v.set_sensitive(true);
            Ok(v)
        })
        .transpose()
}

/// `base` (the cluster URL, maybe with a path prefix) joined with the request's path and
/// query.
fn upstream_uri(base: &Uri, request: &Uri) -> Result<Uri, FaultError> {
    let prefix = base.path().trim_end_matches('/');
    let pq = request.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(
        format!("{prefix}{pq}")
            .parse()
            .map_err(|e| FaultError::Upstream(format!("{pq}: {e}")))?,
    );
    Uri::from_parts(parts).map_err(|e| FaultError::Upstream(e.to_string()))
}

fn full(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<ProxyBody> {
    let mut r = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// The response of an injected failure.
fn injected(code: u16, method: &str, path: &str) -> Response<ProxyBody> {
    let body = plan::status_body(code, method, path);
    let mut r = full(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    if code == 429 {
        r.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            HeaderValue::from(plan::RETRY_AFTER_SECONDS),
        );
    }
    r
}

impl FaultProxy {
    /// Starts a proxy on a fresh 127.0.0.1 port forwarding to the API server of `config`
    /// with its credentials.
    pub async fn start(config: &kube::Config) -> Result<Self, FaultError> {
        let authorization = authorization(config)?;
        let connector = config
            .rustls_https_connector()
            .map_err(|e| FaultError::Upstream(format!("TLS setup: {e}")))?;
        let upstream: Upstream = Client::builder(TokioExecutor::new()).build(connector);
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(FaultError::Bind)?;
        let addr = listener.local_addr().map_err(FaultError::Bind)?;
        let (cut, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            upstream,
            base: config.cluster_url.clone(),
            authorization,
            faults: Mutex::new(Faults::default()),
            cut,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        tracing::debug!(%addr, "API fault proxy listening");
        Ok(Self {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// Where it listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the server of the kubeconfig the operator gets.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig pointing at the proxy (no credentials: the proxy adds them).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<(), FaultError> {
        crate::cluster::kubeconfig::write_private(
            path,
            &crate::cluster::kubeconfig::render_plain("kanon-fault-proxy", &self.url()),
        )
        .map_err(|e| FaultError::Kubeconfig(e.to_string()))
    }

    /// A client configuration pointing at the proxy.
    pub fn kube_config(&self) -> Result<kube::Config, FaultError> {
        let url = self
            .url()
            .parse()
            .map_err(|e| FaultError::Kubeconfig(format!("{}: {e}", self.url())))?;
        Ok(kube::Config::new(url))
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// From now on and for `duration`, answers a `ratio` of the writes (POST, PUT,
    /// PATCH, DELETE; see [`plan::fails`]) of `resources` (plurals; empty: every write)
    /// with the codes of `statuses` in turn, instead of forwarding them. Replaces a
    /// write fault already in force.
    pub fn fail_writes(
        &self,
        resources: &[String],
        statuses: &[u16],
        ratio: f64,
        duration: Duration,
    ) {
        self.faults().writes = Some(WriteFault {
            resources: resources.to_vec(),
            statuses: statuses.to_vec(),
            ratio,
            until: Instant::now() + duration,
            seen: 0,
            injected: 0,
        });
        tracing::info!(
            ?resources,
            ?statuses,
            ratio,
            ?duration,
            "fault proxy: failing writes"
        );
    }

    /// From now on and for `duration`, answers every read of one named object of
    /// `resources` (plurals; see [`plan::named_read`]) with the codes of `statuses` in
    /// turn. Replaces a read fault already in force.
    pub fn fail_reads(&self, resources: &[String], statuses: &[u16], duration: Duration) {
        self.faults().reads = Some(ReadFault {
            resources: resources.to_vec(),
            statuses: statuses.to_vec(),
            until: Instant::now() + duration,
            injected: 0,
        });
        tracing::info!(
            ?resources,
            ?statuses,
            ?duration,
            "fault proxy: failing reads"
        );
    }

    /// Cuts every open connection now and refuses new ones for `duration`.
    pub fn outage(&self, duration: Duration) {
        {
            let mut f = self.faults();
            f.outage_until = Some(Instant::now() + duration);
            f.counts.outages += 1;
        }
        self.shared.cut.send_modify(|g| *g += 1);
        tracing::info!(?duration, "fault proxy: outage");
    }

    /// Ends every fault in force.
    pub fn lift(&self) {
        let mut f = self.faults();
        f.writes = None;
        f.reads = None;
        f.outage_until = None;
    }

    /// Whether a fault is in force.
    pub fn active(&self) -> bool {
        let now = Instant::now();
        let f = self.faults();
        f.outage_active(now)
            || f.writes.as_ref().is_some_and(|w| now < w.until)
            || f.reads.as_ref().is_some_and(|r| now < r.until)
    }

    /// What the proxy saw and injected since it started.
    pub fn counts(&self) -> FaultCounts {
        self.faults().counts.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => break,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let refused = {
            let mut f = shared
                .faults
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let refuse = f.outage_active(Instant::now());
            if refuse {
                f.counts.connections_refused += 1;
            }
            refuse
        };
        if refused {
            refuse(tcp);
            continue;
        }
        let cut = shared.cut.subscribe();
        tokio::spawn(serve(tcp, shared.clone(), cut, stopped.clone()));
    }
}

/// Closes `tcp` before a byte is exchanged: the client's request fails with a closed
/// connection, as against a server that is down.
fn refuse(tcp: TcpStream) {
    drop(tcp);
}

async fn serve(
    tcp: TcpStream,
    shared: Arc<Shared>,
    mut cut: watch::Receiver<u64>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let handler = shared.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&shared, req).await) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service);
    tokio::select! {
        _ = conn => {}
        _ = cut.changed() => {
            // Dropping the connection closes the socket and every response on it,
            // watches included.
            let mut f = shared
                .faults
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f.counts.connections_cut += 1;
        }
        _ = stopped.changed() => {}
    }
}

/// What to do with one request: an injected failure, or forward it.
fn decide(shared: &Shared, method: &http::Method, uri: &Uri) -> Option<u16> {
    let now = Instant::now();
    let mut f = shared
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f.counts.requests += 1;
    if !plan::is_write(method) {
        let resource = plan::named_read(method, uri.path(), uri.query())?;
        let r = f
            .reads
            .as_mut()
            .filter(|r| now < r.until && r.resources.iter().any(|x| x == resource))?;
        let code = plan::status_for(r.injected, &r.statuses);
        r.injected += 1;
        f.counts.failed_reads += 1;
        return Some(code);
    }
    f.counts.writes += 1;
    let resource = plan::api_path(uri.path()).map(|p| p.resource);
    let w = f.writes.as_mut().filter(|w| {
        now < w.until
            && (w.resources.is_empty()
                || resource.is_some_and(|r| w.resources.iter().any(|x| x == r)))
    })?;
    let n = w.seen;
    w.seen += 1;
    if !plan::fails(n, w.ratio, plan::SEED) {
        return None;
    }
    let code = plan::status_for(w.injected, &w.statuses);
    w.injected += 1;
    f.counts.failed_writes += 1;
    *f.counts.failed_by_status.entry(code).or_insert(0) += 1;
    Some(code)
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<ProxyBody> {
    let path = req.uri().path().to_string();
    if let Some(code) = decide(shared, req.method(), req.uri()) {
        tracing::debug!(method = %req.method(), path, code, "fault proxy: injected");
        return injected(code, req.method().as_str(), &path);
    }
    let (mut parts, body) = req.into_parts();
    parts.uri = match upstream_uri(&shared.base, &parts.uri) {
        Ok(u) => u,
        Err(e) => return unavailable(&e.to_string()),
    };
    for h in HOP_BY_HOP {
        parts.headers.remove(*h);
    }
    parts.headers.remove(hyper::header::AUTHORIZATION);
    if let Some(a) = &shared.authorization {
        parts
            .headers
            .insert(hyper::header::AUTHORIZATION, a.clone());
    }
    parts.version = http::Version::HTTP_11;
    match shared
        .upstream
        .request(Request::from_parts(parts, body))
        .await
    {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            for h in HOP_BY_HOP {
                parts.headers.remove(HeaderName::from_static(h));
            }
            Response::from_parts(parts, body.map_err(Into::into).boxed())
        }
        Err(e) => unavailable(&format!("the API server did not answer: {e}")),
    }
}

/// A 503 with a metav1.Status saying why: what clients see when the API server is down.
fn unavailable(message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("kanon fault proxy: {message}"),
        "reason": "ServiceUnavailable",
        "code": 503,
    });
    full(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_uris_keep_prefix_path_and_query() {
        let base: Uri = "https://127.0.0.1:6443/".parse().unwrap();
        let req: Uri = "/api/v1/pods?watch=true&resourceVersion=5".parse().unwrap();
        assert_eq!(
            upstream_uri(&base, &req).unwrap().to_string(),
            "https://127.0.0.1:6443/api/v1/pods?watch=true&resourceVersion=5"
        );
        let base: Uri = "https://rancher.example/k8s/clusters/c-1".parse().unwrap();
        assert_eq!(
            upstream_uri(&base, &"/version".parse().unwrap())
                .unwrap()
                .to_string(),
            "https://rancher.example/k8s/clusters/c-1/version"
        );
    }

    #[test]
    fn injected_responses_carry_a_status_and_retry_after() {
        let r = injected(429, "PATCH", "/x");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[hyper::header::RETRY_AFTER], "1");
        let r = injected(409, "PUT", "/x");
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.headers()[hyper::header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn exec_credentials_are_refused_and_tokens_are_sensitive() {
        let mut config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        assert!(authorization(&config).unwrap().is_none());
        config.auth_info.token = Some("s3cret".to_string().into());
        let h = authorization(&config).unwrap().unwrap();
        assert!(h.is_sensitive());
        assert_eq!(h, "Bearer s3cret");
        config.auth_info.exec = Some(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "aws",
            }))
            .unwrap(),
        );
        assert!(matches!(
            authorization(&config),
            Err(FaultError::UnsupportedAuth(_))
        ));
    }
}
