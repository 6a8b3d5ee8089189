//! [`RelayLaunch`]: the values a relay is started with (`relay-contract.md` §1).

use std::path::Path;

use crate::clevertap::{DEFAULT_ACCOUNT_ID, DEFAULT_PASSCODE, DEFAULT_REGION};
use crate::mapping::Settings;
use crate::qonversion::DEFAULT_TOKEN;

/// Everything a relay is told at start: where CleverTap is, its credentials, the
/// webhook token and the integration settings.
///
/// ```
/// use qc_harness::Settings;
/// use qc_harness::relay::RelayLaunch;
/// let launch = RelayLaunch::new("http://127.0.0.1:9000", Settings::default());
/// assert_eq!(launch.account_id, "TEST-ACC-000");
/// assert_eq!(launch.token, "qc-harness-test-token");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RelayLaunch {
    /// Base URL of the (fake) CleverTap; the relay POSTs to `<url>/1/upload`.
    pub clevertap_url: String,
    /// `CLEVERTAP_ACCOUNT_ID`.
    pub account_id: String,
    /// `CLEVERTAP_PASSCODE`.
    pub passcode: String,
    /// `CLEVERTAP_REGION`.
    pub region: String,
    /// `QONVERSION_WEBHOOK_TOKEN`.
    pub token: String,
    /// The integration settings, written to the file named by `RELAY_SETTINGS`.
    pub settings: Settings,
}

impl RelayLaunch {
    /// A launch with the default credentials, region and token.
    pub fn new(clevertap_url: impl Into<String>, settings: Settings) -> Self {
        RelayLaunch {
            clevertap_url: clevertap_url.into().trim_end_matches('/').to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            passcode: DEFAULT_PASSCODE.to_string(),
            region: DEFAULT_REGION.to_string(),
            token: DEFAULT_TOKEN.to_string(),
            settings,
        }
    }

    /// The contract's environment for a relay listening on `port` with settings at `settings_file`.
    pub fn environment(&self, port: u16, settings_file: &Path) -> Vec<(&'static str, String)> {
        vec![
            ("PORT", port.to_string()),
            ("CLEVERTAP_API_URL", self.clevertap_url.clone()),
            ("CLEVERTAP_ACCOUNT_ID", self.account_id.clone()),
            ("CLEVERTAP_PASSCODE", self.passcode.clone()),
            ("CLEVERTAP_REGION", self.region.clone()),
            ("QONVERSION_WEBHOOK_TOKEN", self.token.clone()),
            ("RELAY_SETTINGS", settings_file.display().to_string()),
        ]
    }

    /// `command` with the `{port}`, `{clevertap_url}`, `{account_id}`, `{passcode}`,
    /// `{region}`, `{token}` and `{settings}` placeholders replaced by their values (as is,
    /// not shell-quoted: quote them in the command where needed).
    ///
    /// ```
    /// use qc_harness::{Settings, relay::RelayLaunch};
    /// let launch = RelayLaunch::new("http://127.0.0.1:9000", Settings::default());
    /// let cmd = launch.substitute("relay --port {port} --ct {clevertap_url}", 8000, "/tmp/s.json".as_ref());
    /// assert_eq!(cmd, "relay --port 8000 --ct http://127.0.0.1:9000");
    /// ```
    pub fn substitute(&self, command: &str, port: u16, settings_file: &Path) -> String {
        let mut out = command.to_string();
        for (name, value) in self.environment(port, settings_file) {
            let placeholder = match name {
                "PORT" => "{port}",
                "CLEVERTAP_API_URL" => "{clevertap_url}",
                "CLEVERTAP_ACCOUNT_ID" => "{account_id}",
                "CLEVERTAP_PASSCODE" => "{passcode}",
                "CLEVERTAP_REGION" => "{region}",
                "QONVERSION_WEBHOOK_TOKEN" => "{token}",
                _ => "{settings}",
            };
            out = out.replace(placeholder, &value);
        }
        out
    }
}
