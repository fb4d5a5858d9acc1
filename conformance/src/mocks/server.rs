//! The HTTP(S) serving loop the mocks share: loopback only, optional TLS, graceful stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Largest request body a mock reads.
const MAX_BODY: usize = 16 << 20;

/// Facts about the connection a request came on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnInfo {
    /// A TLS client certificate was presented (and verified).
    pub client_cert_presented: bool,
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct Served {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops accepting and ends open connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `handler` on a fresh loopback port, over TLS when `tls` is given.
pub async fn serve<H, F>(
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: H,
) -> std::io::Result<Served>
where
    H: Fn(Request<Bytes>, ConnInfo) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopped.changed() => break,
            };
            let Ok((tcp, _)) = accepted else { continue };
            let handler = handler.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        // A failed handshake (untrusted CA, missing client certificate)
                        // ends the connection, as a real server would.
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let info = ConnInfo {
                            client_cert_presented: tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .is_some_and(|c| !c.is_empty()),
                        };
                        serve_connection(TokioIo::new(tls), handler, info).await;
                    }
                    None => serve_connection(TokioIo::new(tcp), handler, ConnInfo::default()).await,
                }
            });
        }
    });
    Ok(Served { addr, stop, task })
}

async fn serve_connection<IO, H, F>(io: IO, handler: H, info: ConnInfo)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    H: Fn(Request<Bytes>, ConnInfo) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = match Limited::new(body, MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return Ok::<_, std::convert::Infallible>(text_response(
                        413,
                        &format!("cannot read the body: {e}"),
                    ));
                }
            };
            Ok(handler(Request::from_parts(parts, bytes), info).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// A response with `status` and a plain-text body.
pub fn text_response(status: u16, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    r
}

/// A response with `status` and `body` of `content_type`.
pub fn response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    r
}

/// Request headers as a JSON map, names lower-cased, repeated headers joined with `,`.
pub fn headers_json(headers: &hyper::HeaderMap) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_string();
        let key = name.as_str().to_ascii_lowercase();
        match map.get_mut(&key) {
            Some(serde_json::Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                map.insert(key, serde_json::Value::String(v));
            }
        }
    }
    map
}
