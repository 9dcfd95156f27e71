//! End-to-end tests in a real browser: headless Chromium, driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`), against the
//! built `counter` and `login` examples, each in cookie mode and with
//! `SESSION_STORE=memory`. What a browser keeps is read from its own cookie
//! store, not from the responses: a cookie the browser drops shows here.
//!
//! Each test starts what it needs on free ports (the example binaries
//! from this build's `target/<profile>/examples`, chromedriver, one
//! Chromium per browser profile with a fresh `--user-data-dir`) and stops
//! it when it ends, so tests run in parallel and under `cargo nextest`.
//! Nothing is downloaded. Without Chromium, chromedriver or the built
//! examples a test says what was missing and passes, unless `CI=true`,
//! where it fails: `.ci/run` installs them with apt. `CHROMIUM` and
//! `CHROMEDRIVER` point elsewhere than `/usr/bin`.
//!
//! ```text
//! apt-get install chromium chromium-driver
//! cargo build --examples --all-features && cargo test --all-features --test browser
//! ```

mod counter;
mod harness;
mod login;
