//! Starting headless Chromium under chromedriver, one at a time, and the page helpers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;

use crate::dev::{DEADLINE, Dev};

/// One browser test at a time: two cores, and Chromium is heavy.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Chromium's flags for a closed network and no desktop.
const FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
}

/// A headless Chromium session, or `None` (after printing why) when it is not installed.
pub async fn browser() -> Option<Browser> {
    let chromium = std::env::var_os("QC_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]));
    let driver =
        std::env::var_os("QC_CHROMEDRIVER").map(PathBuf::from).or_else(|| on_path(&["chromedriver"]));
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        let why =
            "chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)";
        if std::env::var("QC_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("QC_REQUIRE_BROWSER=1 but {why}");
        }
        // Straight to stderr, past the test harness's capture, once per run.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            let line = format!(
                "SKIPPED the `dev` page's browser tests: {why}; QC_REQUIRE_BROWSER=1 makes this a failure\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        });
        return None;
    };
    let turn = ONE_AT_A_TIME.lock().await;
    Some(Browser::launch(&chromium, &driver, turn).await)
}

/// A WebDriver session; dropping it ends chromedriver and Chromium (their process group).
pub struct Browser {
    pub client: Client,
    driver: Child,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    async fn launch(chromium: &Path, driver: &Path, turn: tokio::sync::MutexGuard<'static, ()>) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(driver);
        command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("chromedriver starts");
        let (profile, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let options = json!({
            "binary": chromium, "args": args,
            "prefs": {"download.default_directory": downloads.path(), "download.prompt_for_download": false},
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let start = Instant::now();
        let client = loop {
            // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder.capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(client) => break client,
                Err(e) if start.elapsed() < DEADLINE => {
                    tracing::debug!("chromedriver not ready: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session within {DEADLINE:?}: {e}"),
            }
        };
        Browser { client, driver: child, downloads, _profile: profile, _turn: turn }
    }

    /// Opens the page of `dev` and waits until it has loaded everything once.
    pub async fn open(&self, dev: &Dev) -> Duration {
        let start = Instant::now();
        self.client.goto(&format!("{}/", dev.base)).await.unwrap();
        self.element("body[data-ready='1']").await;
        start.elapsed()
    }

    /// Waits for an element matching `css`.
    pub async fn element(&self, css: &str) -> Element {
        let wait = self.client.wait().at_most(DEADLINE).every(Duration::from_millis(50));
        wait.for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} within {DEADLINE:?}: {e}"))
    }

    /// Every element matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// Clicks the element matching `css` (found again if the page re-rendered it meanwhile).
    pub async fn click(&self, css: &str) {
        let start = Instant::now();
        loop {
            match self.element(css).await.click().await {
                Ok(()) => return,
                Err(e) if start.elapsed() < DEADLINE => tracing::debug!("click {css} again: {e}"),
                Err(e) => panic!("cannot click {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the texts of every element matching `css` (at least one) satisfy `ready`.
    pub async fn texts_until(&self, css: &str, ready: impl Fn(&str) -> bool) -> Vec<String> {
        let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)";
        let start = Instant::now();
        loop {
            let found = self.client.execute(script, vec![json!(css)]).await.unwrap();
            let texts: Vec<String> = serde_json::from_value(found).unwrap();
            if !texts.is_empty() && texts.iter().all(|t| ready(t)) {
                return texts;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{css}: texts not as wanted within {DEADLINE:?}; last: {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces the text of the input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.element(css).await;
        input.clear().await.unwrap();
        if !text.is_empty() {
            input.send_keys(text).await.unwrap();
        }
    }

    /// Picks the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.element(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css}: no option {value}: {e}"));
    }

    /// Waits until the text of the element matching `css` satisfies `ready`; that text.
    pub async fn text_until(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if ready(&text) {
                return text;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{css}: text not as wanted within {DEADLINE:?}; last: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until exactly `n` elements match `css`.
    pub async fn count_until(&self, css: &str, n: usize) {
        let start = Instant::now();
        loop {
            let found = self.all(css).await.len();
            if found == n {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "{css}: {found} elements, wanted {n}, within {DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.driver.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.driver.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.driver.wait();
    }
}
