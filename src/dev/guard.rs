//! [`same_origin_only`]: other web sites open in the same browser cannot drive the page's API.
//!
//! - The `Host` must be an IP address or `localhost` (a DNS-rebinding site has a name);
//! - a request that changes something (not GET/HEAD) with an `Origin` must come from the
//!   page's own origin.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api_error::ApiError;

/// Refuses requests from other origins (403 with the reason).
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    match check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(message) => ApiError { status: axum::http::StatusCode::FORBIDDEN, message }.into_response(),
    }
}

fn check(method: &Method, headers: &HeaderMap) -> Result<(), String> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !allowed_host(host) {
        return Err(format!(
            "Host {host:?} is refused: open the page at its IP address (e.g. http://127.0.0.1:PORT) \
             or localhost"
        ));
    }
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    match origin {
        Some(origin) if changes && origin != format!("http://{host}") => {
            Err(format!("cross-origin request from {origin} refused"))
        }
        _ => Ok(()),
    }
}

fn allowed_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            map.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        map
    }

    #[test]
    fn loopback_hosts_pass_and_named_hosts_are_refused() {
        assert!(check(&Method::GET, &headers("127.0.0.1:8765", None)).is_ok());
        assert!(check(&Method::GET, &headers("[::1]:8765", None)).is_ok());
        assert!(check(&Method::GET, &headers("localhost:8765", None)).is_ok());
        assert!(check(&Method::GET, &headers("evil.example:8765", None)).is_err());
    }

    #[test]
    fn changes_from_another_origin_are_refused() {
        let same = headers("127.0.0.1:9", Some("http://127.0.0.1:9"));
        assert!(check(&Method::POST, &same).is_ok());
        let other = headers("127.0.0.1:9", Some("http://evil.example"));
        assert!(check(&Method::POST, &other).unwrap_err().contains("cross-origin"));
        assert!(check(&Method::GET, &other).is_ok());
    }
}
