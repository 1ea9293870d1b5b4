//! A real browser for the desk's tests: the system's headless Chromium driven over
//! WebDriver by its chromedriver (Debian's `chromium` and `chromium-driver`), found by the
//! accessible names API.md lists, and axe-core run inside each page. The driver, the
//! browser and its profile are gone when the guard goes, however the test ends.
use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{Running, TempDir};

const DRIVER: &str = "chromedriver";

pub struct Browser {
    pub client: Client,
    /// Where chromedriver listens (for the commands fantoccini does not wrap).
    driver_url: String,
    base: String,
    // Dropped last, in this order: the driver (and the browser it started), then the profile.
    _driver: Running,
    _profile: TempDir,
}

/// Where a command line says the system Chromium is.
fn chromium() -> PathBuf {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("headless Chromium is needed: apt-get install chromium chromium-driver")
}

impl Browser {
    /// A browser at `width` x 900 pixels, for the app at `base`.
    pub async fn open(base: &str, width: u32) -> Browser {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let profile = TempDir::new("lede-desk-browser");
        use std::os::unix::process::CommandExt;
        let driver = std::process::Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            // Its own process group: the browser it starts goes with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver is needed: apt-get install chromium chromium-driver");
        let driver = Running(driver);
        let url = format!("http://127.0.0.1:{port}");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},900"),
                ],
            },
        });
        // A window is at least 500 px wide: a phone's width is emulated, as DevTools does.
        let mut capabilities = capabilities;
        if width < 500 {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": 844, "pixelRatio": 3.0, "touch": true},
            });
        }
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver did not start a browser within 10 s");
        if width >= 500 {
            client
                .set_window_size(width, 900)
                .await
                .expect("the window takes its size");
        }
        Browser {
            client,
            driver_url: url,
            base: base.to_owned(),
            _driver: driver,
            _profile: profile,
        }
    }

    /// Gives the browser a virtual authenticator (WebDriver's WebAuthn extension): a device
    /// that keeps passkeys and verifies its user, as a laptop's fingerprint reader does.
    pub async fn add_virtual_authenticator(&self) {
        let session = self.client.session_id().await.unwrap().unwrap();
        let answer = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/webauthn/authenticator",
                self.driver_url
            ))
            .json(
                &json!({"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserVerified": true,
                "automaticPresenceSimulation": true}),
            )
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "no virtual authenticator: {}",
            answer.text().await.unwrap()
        );
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The control a `<label>` names (its text, exactly), as assistive technology finds it.
    pub async fn field(&self, label: &str) -> Element {
        self.field_in("html", label).await
    }

    /// The control a `<label>` names inside the element `within` (a CSS selector): one of
    /// the many `Select` boxes of a list, say.
    pub async fn field_in(&self, within: &str, label: &str) -> Element {
        let label_element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "{}//label[normalize-space()={}]",
                css_to_xpath_scope(within),
                xpath_text(label)
            )))
            .await
            .unwrap_or_else(|e| panic!("no field labelled {label:?} in {within}: {e}"));
        let id = label_element
            .attr("for")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the label {label:?} names no control"));
        self.client
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|e| panic!("the control of {label:?}: {e}"))
    }

    /// Replaces a field's text.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Replaces the text of the field `label` inside `within`.
    pub async fn fill_in(&self, within: &str, label: &str, text: &str) {
        let field = self.field_in(within, label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// A button by its text, visible, waited for.
    pub async fn button(&self, name: &str) -> Element {
        self.button_in("html", name).await
    }

    /// A button by its text inside the element `within` (a CSS selector).
    pub async fn button_in(&self, within: &str, name: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "{}//button[normalize-space()={}]",
                css_to_xpath_scope(within),
                xpath_text(name)
            )))
            .await
            .unwrap_or_else(|e| panic!("no button {name:?} in {within}: {e}"))
    }

    /// Clicks the button `name` inside `within`, which sends its form, and waits for the
    /// next page.
    pub async fn submit_in(&self, within: &str, name: &str) {
        let button = self.button_in(within, name).await;
        self.pressed(button, name).await;
    }

    pub async fn click(&self, name: &str) {
        self.button(name)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {name:?}: {e}"));
    }

    /// Clicks a button that sends its form, and waits for the next page.
    pub async fn submit(&self, name: &str) {
        let button = self.button(name).await;
        self.pressed(button, name).await;
    }

    async fn pressed(&self, button: Element, name: &str) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {name:?}: {e}"));
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("main"))
            .await
            .unwrap();
        // Until the old page is gone, `main` may still be the old page's.
        for _ in 0..200 {
            if before.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pressing {name:?} led to no new page");
    }

    /// The page's text (read again while a page is still being replaced).
    pub async fn text(&self) -> String {
        let mut last = None;
        for _ in 0..100 {
            match self.client.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(text) => return text,
                    Err(error) => last = Some(error),
                },
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page has no text to read: {last:?}");
    }

    /// Waits until the page's text holds `wanted`.
    pub async fn wait_for_text(&self, wanted: &str) {
        for _ in 0..200 {
            if self.text().await.contains(wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the page never said {wanted:?}; it says:\n{}",
            self.text().await
        );
    }

    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// axe-core's WCAG 2.1 A and AA rules on the page as it is: the violations, as
    /// `rule: where` lines (none is the pass).
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(axe_source()).unwrap();
        self.execute(&format!("{axe}\n;return true;"), vec![]).await;
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: {type: 'tag', values: \
                 ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
                 .then(r => done({passes: r.passes.length, violations: r.violations.map(v => \
                 v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))}))\
                 .catch(e => done({passes: 0, violations: ['axe failed: ' + e]}));",
                vec![],
            )
            .await
            .unwrap();
        // A run that checked nothing proves nothing.
        assert!(
            violations["passes"].as_u64().unwrap() > 5,
            "axe-core checked nothing: {violations}"
        );
        violations["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts that the page does not scroll sideways at the window's width (`width` px).
    pub async fn assert_fits(&self, width: u32) {
        let overflow = self
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{} scrolls sideways at {width} px by {overflow} px",
            self.path().await
        );
    }

    /// Asserts that axe-core finds nothing on the page.
    pub async fn assert_accessible(&self) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "axe-core on {}: {violations:#?}",
            self.path().await
        );
    }

    /// A picture of the page, for the README and for looking.
    pub async fn screenshot(&self, to: &Path) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver's whole group: chromedriver and the Chromium it started.
        // SAFETY: signals a process group this test started.
        unsafe { libc::kill(-(self._driver.id() as libc::pid_t), libc::SIGKILL) };
    }
}

/// The XPath of the element a simple CSS selector names: `html`, or `#id`.
fn css_to_xpath_scope(within: &str) -> String {
    match within.strip_prefix('#') {
        Some(id) => format!("//*[@id={}]", xpath_text(id)),
        None => format!("//{within}"),
    }
}

/// An XPath string literal of `text` (which may hold either quote).
fn xpath_text(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// axe-core, installed once under `target/` from `tests/desk/package-lock.json`.
fn axe_source() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("desk-axe");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/desk");
    let lock = std::fs::read_to_string(source.join("package-lock.json")).unwrap();
    let marker = dir.join(".installed");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if std::fs::read_to_string(&marker).is_ok_and(|s| s == lock) && script.exists() {
        return script;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--silent"])
        .current_dir(&dir)
        .status()
        .expect("npm is needed to install axe-core");
    assert!(status.success(), "npm ci (axe-core) failed");
    std::fs::write(marker, lock).unwrap();
    script
}
