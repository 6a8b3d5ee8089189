//! [`RelayConfig`]: the reference relay's configuration, read only from the contract's
//! environment (`relay-contract.md` §1).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::mapping::Settings;

/// CleverTap's region codes (`relay-contract.md` §1).
pub const REGIONS: [&str; 7] = ["eu1", "in1", "sg1", "us1", "aps3", "mec1", "sk1"];

/// Everything the reference relay needs; built from the environment by [`RelayConfig::from_env`].
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    /// `PORT`: where the relay listens on 127.0.0.1.
    pub port: u16,
    /// `CLEVERTAP_API_URL`, else `https://<region>.api.clevertap.com` (eu1: `https://api.clevertap.com`).
    pub clevertap_url: String,
    /// `CLEVERTAP_ACCOUNT_ID`.
    pub account_id: String,
    /// `CLEVERTAP_PASSCODE`.
    pub passcode: String,
    /// `CLEVERTAP_REGION` (default `eu1`).
    pub region: String,
    /// `QONVERSION_WEBHOOK_TOKEN`: expected raw in `Authorization: Basic <token>`.
    pub token: String,
    /// The integration settings from the `RELAY_SETTINGS` file (defaults when unset).
    pub settings: Settings,
    /// `RELAY_SETTINGS`, if set.
    pub settings_file: Option<PathBuf>,
    /// `WEBHOOK_PATH` (default `/webhook`).
    pub webhook_path: String,
}

impl RelayConfig {
    /// Reads the configuration from the process environment.
    pub fn from_process_env() -> Result<Self> {
        Self::from_env(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var` (a variable's value, `None` when unset).
    ///
    /// (Examples: the unit test `the_configuration_comes_from_the_environment`.)
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let port = required(&var, "PORT", "the TCP port to listen on, e.g. 8000")?;
        let port = port
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| env_error("PORT", &format!("{port:?} is not a port number (1-65535)")))?;
        let region = var("CLEVERTAP_REGION").unwrap_or_else(|| "eu1".to_string());
        if !REGIONS.contains(&region.as_str()) {
            let known = REGIONS.join(", ");
            return Err(env_error("CLEVERTAP_REGION", &format!("{region:?} is not one of {known}")));
        }
        let clevertap_url = match var("CLEVERTAP_API_URL") {
            Some(url) => check_url(&url)?,
            None => default_url(&region),
        };
        let settings_file = var("RELAY_SETTINGS").map(PathBuf::from);
        let settings = match &settings_file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        let webhook_path = var("WEBHOOK_PATH").unwrap_or_else(|| "/webhook".to_string());
        if !webhook_path.starts_with('/') || webhook_path == "/health" {
            let problem = format!("{webhook_path:?} must start with '/' and not be /health");
            return Err(env_error("WEBHOOK_PATH", &problem));
        }
        Ok(RelayConfig {
            port,
            clevertap_url,
            account_id: required(&var, "CLEVERTAP_ACCOUNT_ID", "the CleverTap account id")?,
            passcode: required(&var, "CLEVERTAP_PASSCODE", "the CleverTap passcode")?,
            region,
            token: required(&var, "QONVERSION_WEBHOOK_TOKEN", "the token Qonversion sends")?,
            settings,
            settings_file,
            webhook_path,
        })
    }

    /// The configuration an in-process unit gives the relay ([`crate::relay::RelaySetup`]):
    /// its fake CleverTap, credentials, token and settings (`port` 0: it serves on
    /// `setup.listener`, through [`super::serve_on`]).
    pub fn for_setup(setup: &crate::relay::RelaySetup) -> RelayConfig {
        RelayConfig {
            port: setup.local_addr().port(),
            clevertap_url: setup.clevertap_url.clone(),
            account_id: setup.account_id.clone(),
            passcode: setup.passcode.clone(),
            region: setup.region.clone(),
            token: setup.token.clone(),
            settings: setup.settings.clone(),
            settings_file: None,
            webhook_path: "/webhook".to_string(),
        }
    }
}

/// `https://<region>.api.clevertap.com`; the EU region is `https://api.clevertap.com`.
pub fn default_url(region: &str) -> String {
    match region {
        "eu1" => "https://api.clevertap.com".to_string(),
        other => format!("https://{other}.api.clevertap.com"),
    }
}

fn required(var: &impl Fn(&str) -> Option<String>, name: &str, meaning: &str) -> Result<String> {
    var(name).ok_or_else(|| env_error(name, &format!("is not set ({meaning})")))
}

fn check_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| env_error("CLEVERTAP_API_URL", &format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(env_error("CLEVERTAP_API_URL", &format!("{url:?} is not an http(s) URL with a host")));
    }
    Ok(url.trim().trim_end_matches('/').to_string())
}

fn env_error(name: &str, problem: &str) -> Error {
    Error::Usage(format!(
        "reference-relay: environment variable {name} {problem}; see `qc-harness reference-relay --help`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_comes_from_the_environment() {
        let env = |name: &str| match name {
            "PORT" => Some("8000".to_string()),
            "CLEVERTAP_ACCOUNT_ID" => Some("ACC".to_string()),
            "CLEVERTAP_PASSCODE" => Some("PASS".to_string()),
            "CLEVERTAP_REGION" => Some("us1".to_string()),
            "QONVERSION_WEBHOOK_TOKEN" => Some("secret".to_string()),
            _ => None,
        };
        let config = RelayConfig::from_env(env).unwrap();
        assert_eq!(config.clevertap_url, "https://us1.api.clevertap.com");
        assert_eq!(config.webhook_path, "/webhook");
    }
}
