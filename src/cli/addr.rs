//! Addresses on the command line: `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080`; URLs may
//! leave out `http://` (`localhost:3000/webhook`).

use std::net::{Ipv4Addr, SocketAddr};

/// Parses a listen address; `localhost:PORT` is `127.0.0.1:PORT`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("`{text}`: the port must be a number 0-65535"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    text.parse().map_err(|_| format!("`{text}`: expected HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"))
}

/// `localhost:3000/webhook` → `http://localhost:3000/webhook`; a URL with a scheme is kept.
pub fn with_scheme(url: &str) -> String {
    if url.contains("://") { url.to_string() } else { format!("http://{url}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_and_ip_addresses_parse_and_junk_is_explained() {
        assert_eq!(parse_addr("localhost:8080").unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(parse_addr("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert!(parse_addr("localhost:http").unwrap_err().contains("port"));
        assert!(parse_addr("nowhere").unwrap_err().contains("HOST:PORT"));
    }

    #[test]
    fn a_url_without_scheme_gets_http() {
        assert_eq!(with_scheme("localhost:3000/webhook"), "http://localhost:3000/webhook");
        assert_eq!(with_scheme("https://x.test"), "https://x.test");
    }
}
