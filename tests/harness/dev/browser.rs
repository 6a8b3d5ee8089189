//! The page of `qc-harness dev` in a real headless Chromium, driven over WebDriver
//! (chromedriver + fantoccini). Without `chromium`/`chromedriver` these tests print why
//! and pass, unless `QC_REQUIRE_BROWSER=1` (CI), which makes the absence a failure.

mod driver;
mod scale;
mod scenarios;

pub use driver::{Browser, browser};
