//! `report.html`, the sweep's page, checked twice: as text (escaping, figures, no external
//! URL; no browser needed) and in a real headless Chromium, opened from the file system
//! with the network cut off, whose DOM after the page's script ran must show the numbers of
//! `report.json`, no trace of the injected scripts having run, and the status and rule
//! filters that a URL fragment (`#status=failed`) selects.
//!
//! Chromium is installed by `scripts/setup-chromium.sh` (Debian's `chromium` package, once;
//! it needs root or sudo, as in CI). There is no way to skip this test: if the install
//! fails, the test fails and says at which step.
//!
//! The network: every request the browser makes goes to a proxy on loopback that this test
//! runs, which records it and answers nothing, and host names resolve to nothing. Chromium's
//! NetLog tells the page's requests (they have an initiator) from the browser's own
//! background ones (sign-in, network time, which `--disable-background-networking` does not
//! stop). The report's page must make no request, and whatever reaches the proxy must be
//! the browser's own. A control page that loads an `http://` image proves that both the
//! NetLog and the proxy see a page's request.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cargo_migrate::emit::write_sweep_html;
use cargo_migrate::ops::sweep::report::{RepoResult, ReviewSite, Shard, Status, SweepReport, Totals, VerifyResult, REPORT_VERSION};
use serde_json::Value;

/// How long one Chromium run may take before it is killed (it takes one or two seconds).
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(30);

const ALERT: &str = "<script>alert(1)</script>";
const TITLE_SCRIPT: &str = "<script>document.title = \"pwned\"</script>";
const ATTRIBUTE_IMG: &str = "<img src=x onerror=\"document.body.setAttribute('data-pwned', '1')\">";
const ODD_NAME: &str = "tom&jerry's \"tools\"";

fn repo(name: &str, status: Status) -> RepoResult {
    RepoResult::new(name, &format!("https://example.invalid/{name}.git"), "git:0123abc", "key", status)
}

/// A sweep of five repositories: two migrated (one with needs-review sites, one whose
/// verify broke), one unchanged with an awkward name, one failed, one timed out. The
/// reason, a diff line and a review reason carry markup that must stay text.
fn sample() -> SweepReport {
    let mut alpha = repo("alpha", Status::Migrated);
    alpha.workspaces = vec!["Cargo.toml".into()];
    alpha.by_rule = BTreeMap::from([("keyword-gen".to_string(), 3), ("unsafe-extern-blocks".to_string(), 1)]);
    alpha.changes = 4;
    alpha.files = 2;
    alpha.judged = 1;
    alpha.needs_review = 2;
    alpha.review = vec![
        ReviewSite { file: "src/ffi.rs".into(), line: 4, rule: "unsafe-extern-blocks".into(), reason: format!("check the SAFETY comment {ATTRIBUTE_IMG}") },
        ReviewSite { file: "src/lib.rs".into(), line: 12, rule: "keyword-gen".into(), reason: "a macro may expect `gen` & friends".into() },
    ];
    alpha.verify = Some(VerifyResult { builds: true, preexisting: 0, introduced: 0, reverted: 0 });
    alpha.diff = [
        "--- a/src/lib.rs",
        "+++ b/src/lib.rs",
        "# keyword-gen [safe, by rule] line 3: `gen` is a keyword in Rust 2024",
        "@@ -1,4 +1,4 @@",
        " fn main() {",
        "-    let gen = 1;",
        "+    let r#gen = 1;",
        &format!("+    /// {TITLE_SCRIPT}"),
        " }",
        "--- a/src/ffi.rs",
        "+++ b/src/ffi.rs",
        "# unsafe-extern-blocks [needs-review, by rule] line 4: Rust 2024 requires `unsafe` on extern blocks",
        "@@ -4,1 +4,1 @@",
        "-extern \"C\" {}",
        "+unsafe extern \"C\" {}",
    ]
    .join("\n")
        + "\n";
    alpha.patch = Some("alpha.patch".into());
    alpha.seconds = 12.5;

    let mut beta = repo("beta", Status::Migrated);
    beta.by_rule = BTreeMap::from([("keyword-gen".to_string(), 1)]);
    beta.changes = 1;
    beta.files = 1;
    beta.verify = Some(VerifyResult { builds: false, preexisting: 1, introduced: 1, reverted: 0 });
    beta.diff =
        "--- a/src/main.rs\n+++ b/src/main.rs\n# keyword-gen [safe, by rule] line 1: `gen` is a keyword\n@@ -1 +1 @@\n-fn gen() {}\n+fn r#gen() {}\n".into();
    beta.patch = Some("beta.patch".into());
    beta.seconds = 3.25;

    let mut odd = repo(ODD_NAME, Status::Unchanged);
    odd.seconds = 0.5;

    let mut gamma = repo("gamma", Status::Failed);
    gamma.reason = Some(format!("Cargo.toml does not parse: {ALERT}"));
    gamma.seconds = 0.25;

    let mut delta = repo("delta", Status::TimedOut);
    delta.reason = Some("ran past --timeout 600 s".into());
    delta.seconds = 600.0;

    let repositories = vec![alpha, beta, odd, gamma, delta];
    SweepReport {
        version: REPORT_VERSION,
        tool_version: "0.1.0".into(),
        migration: "edition".into(),
        options: "verify".into(),
        shards: vec![Shard { index: 1, count: 2 }, Shard { index: 2, count: 2 }],
        totals: Totals::of(&repositories),
        repositories,
        reused: 1,
        seconds: 621.0,
    }
}

fn html_of(report: &SweepReport) -> String {
    let mut out = Vec::new();
    write_sweep_html(report, &mut out).expect("write report.html");
    String::from_utf8(out).expect("report.html is UTF-8")
}

/// The text of the element whose start tag holds `attribute` (e.g. `data-total="changes"`).
fn text_of(html: &str, attribute: &str) -> String {
    let at = html.find(attribute).unwrap_or_else(|| panic!("no element with {attribute}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().to_string()
}

/// The number an element shows.
fn number_of(html: &str, attribute: &str) -> u64 {
    let text = text_of(html, attribute);
    text.parse().unwrap_or_else(|_| panic!("{attribute} shows {text:?}, not a number"))
}

/// The start tags that contain `marker`, e.g. every `<tr data-repo=`.
fn start_tags<'h>(html: &'h str, marker: &str) -> Vec<&'h str> {
    html.match_indices(marker).map(|(at, _)| &html[at..at + html[at..].find('>').unwrap() + 1]).collect()
}

/// The value of `name="..."` in a start tag.
fn attribute<'t>(tag: &'t str, name: &str) -> &'t str {
    let key = format!(" {name}=\"");
    let start = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// The value of every `href=`, `src=` and the like in the page's tags, and every CSS
/// `url(` or `@import` (the report's texts are escaped, so each `<` starts a tag).
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in html.split('<').skip(1).map(|t| &t[..t.find('>').unwrap_or(t.len())]) {
        for key in [" href=", " src=", " srcset=", " action=", " poster=", " data=", " formaction=", " ping="] {
            for (at, _) in tag.match_indices(key) {
                let rest = &tag[at + key.len()..];
                found.push(format!("{key}{}", &rest[..rest.find(' ').unwrap_or(rest.len())]));
            }
        }
    }
    for key in ["url(", "@import"] {
        found.extend(html.match_indices(key).map(|(at, _)| html[at..].chars().take(60).collect::<String>()));
    }
    found
}

/// The checks both the written page and the browser's DOM must pass: the figures equal
/// `report.json`'s totals, one row per repository, and the markup of the report is text.
fn check_page(html: &str, json: &Value, what: &str) {
    let totals = &json["totals"];
    for (figure, key) in
        [("repositories", "repositories"), ("changes", "changes"), ("judged", "judged"), ("needs-review", "needs_review"), ("verify-broken", "verify_broken")]
    {
        assert_eq!(number_of(html, &format!("data-total=\"{figure}\"")), totals[key].as_u64().unwrap(), "{what}: figure {figure}");
    }
    let by_status = totals["by_status"].as_object().unwrap();
    for status in ["migrated", "unchanged", "failed", "timed-out"] {
        let expected = by_status.get(status).and_then(Value::as_u64).unwrap_or(0);
        assert_eq!(number_of(html, &format!("data-status-total=\"{status}\"")), expected, "{what}: figure of {status}");
    }
    let repositories = json["repositories"].as_array().unwrap();
    let rows = start_tags(html, "<tr data-repo=");
    assert_eq!(rows.len(), repositories.len(), "{what}: one row per repository");
    assert_eq!(number_of(html, "id=\"row-count\""), repositories.len() as u64, "{what}: row count");
    for (row, repo) in rows.iter().zip(repositories) {
        assert_eq!(attribute(row, "data-status"), repo["status"].as_str().unwrap(), "{what}: {row}");
    }
    let sites: usize = repositories.iter().map(|r| r["review"].as_array().unwrap().len()).sum();
    assert_eq!(start_tags(html, "<tr data-review-repo=").len(), sites, "{what}: review rows");
    assert_eq!(number_of(html, "id=\"review-count\""), sites as u64, "{what}: review count");
    let (review, diffs) = (html.find("id=\"review\"").unwrap(), html.find("id=\"diffs\"").unwrap());
    assert!(review < diffs, "{what}: the review sites come before the diffs");

    // The report's markup is shown as text: escaped, and no element of it exists.
    assert!(html.contains("Cargo.toml does not parse: &lt;script&gt;alert(1)&lt;/script&gt;"), "{what}: the reason's <script> is not shown escaped");
    assert!(
        html.contains("/// &lt;script&gt;document.title = \"pwned\"&lt;/script&gt;")
            || html.contains("/// &lt;script&gt;document.title = &quot;pwned&quot;&lt;/script&gt;"),
        "{what}: the diff's <script> is not shown escaped"
    );
    assert!(html.contains("&lt;img src=x onerror="), "{what}: the review reason's <img> is not shown escaped");
    assert!(
        !html.contains(ALERT) && !html.contains("<script>document.title") && !html.contains("<img"),
        "{what}: markup of the report became markup of the page"
    );
    assert_eq!(html.matches("<script").count(), 1, "{what}: the page's own script is the only one");
    assert!(html.contains("tom&amp;jerry"), "{what}: the name's & is escaped");
    let title = text_of(html, "<title");
    assert_eq!(title, "cargo migrate sweep: edition", "{what}: the title changed");
}

/// What the rows of `#repos` show after the filters: the names of the rows not hidden,
/// and the count the page displays.
fn shown(dom: &str) -> (Vec<String>, u64) {
    let names =
        start_tags(dom, "<tr data-repo=").into_iter().filter(|tag| !tag.contains(" hidden")).map(|tag| attribute(tag, "data-repo").to_string()).collect();
    (names, number_of(dom, "id=\"shown-count\""))
}

#[test]
fn the_page_is_escaped_self_contained_and_shows_the_totals() {
    let report = sample();
    let html = html_of(&report);
    let json = serde_json::to_value(&report).unwrap();
    check_page(&html, &json, "report.html");
    assert_eq!(number_of(&html, "id=\"shown-count\""), 5);
    // Nothing to load: the only references are anchors and the sweep's own files beside the page.
    for reference in references(&html) {
        let ok = reference.starts_with(" href=\"#") || (reference.starts_with(" href=\"") && !reference.contains(':') && !reference.contains('/'));
        assert!(ok, "an external or loaded reference: {reference}");
    }
    assert!(html.contains("href=\"alpha.patch\"") && html.contains("href=\"tom%26jerry%27s%20%22tools%22.json\""));
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
    // The run and the diff.
    assert_eq!(text_of(&html, "data-run=\"shards\""), "1/2, 2/2");
    assert_eq!(text_of(&html, "data-run=\"run-time\""), "10 min 21 s");
    assert_eq!(text_of(&html, "data-run=\"options\""), "verify");
    assert!(html.contains("<span class=\"ann\"># keyword-gen [safe, by rule] line 3: `gen` is a keyword in Rust 2024</span>"));
    assert!(html.contains("<span class=\"hunk\">@@ -1,4 +1,4 @@</span>"));
    assert!(html.contains("<span class=\"del\">-    let gen = 1;</span>") && html.contains("<span class=\"add\">+    let r#gen = 1;</span>"));
    assert!(html.contains("<span class=\"file\">--- a/src/lib.rs</span>"));
    assert!(html.contains("<span class=\"add\">+unsafe extern &quot;C&quot; {}</span>"));
    // Rows carry their rules for the filter.
    let rows = start_tags(&html, "<tr data-repo=");
    assert_eq!(attribute(rows[0], "data-rules"), "[&quot;keyword-gen&quot;,&quot;unsafe-extern-blocks&quot;]");
    assert_eq!(attribute(rows[2], "data-rules"), "[]");
    assert_eq!(attribute(rows[2], "data-repo"), "tom&amp;jerry&#39;s &quot;tools&quot;");
}

/// Runs `scripts/setup-chromium.sh` and returns the browser's path.
fn install_chromium() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(root.join("scripts/setup-chromium.sh"))
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .expect("step 1 of 3, install: run scripts/setup-chromium.sh");
    assert!(output.status.success(), "step 1 of 3, install: scripts/setup-chromium.sh failed ({}); its messages above name the step", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("chromium="))
        .unwrap_or_else(|| panic!("step 1 of 3, install: no `chromium=` line in the output of scripts/setup-chromium.sh: {stdout}"));
    let path = PathBuf::from(path.trim());
    assert!(path.is_file(), "step 1 of 3, install: {} is not a file", path.display());
    eprintln!("setup-chromium.sh: {:.1?} ({})", started.elapsed(), path.display());
    path
}

/// A proxy on loopback that records the first line of every request and answers nothing.
struct Sink {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    /// Connections still being read.
    open: Arc<std::sync::atomic::AtomicUsize>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (requests, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (seen, done) = (requests.clone(), stop.clone());
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reading = open.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        // Each connection on a thread of its own, with time to send its
                        // request line even on a busy machine; one that closes (or stays
                        // idle) without sending a byte carries no request and is not
                        // recorded (Chromium opens such sockets ahead of use).
                        let seen = seen.clone();
                        let reading = reading.clone();
                        reading.fetch_add(1, Ordering::SeqCst);
                        std::thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                            let mut buffer = [0u8; 1024];
                            let n = stream.read(&mut buffer).unwrap_or(0);
                            if let Some(first) = String::from_utf8_lossy(&buffer[..n]).lines().next() {
                                seen.lock().unwrap().push(first.to_string());
                            }
                            reading.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Sink { port, requests, stop, open }
    }

    /// The requests recorded since the last call.
    /// Waits (10 s at most) for the connections still open to send their request or close:
    /// the browser has exited by then, so they do.
    fn take(&self) -> Vec<String> {
        let started = std::time::Instant::now();
        while self.open.load(Ordering::SeqCst) > 0 && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What one page load showed: the DOM after the page's script ran, the requests the page
/// made (from Chromium's NetLog: those with an initiator; the browser's own background
/// requests have none), the hosts the browser contacted on its own, and what reached the sink.
struct Load {
    dom: String,
    page_requests: Vec<String>,
    browser_hosts: Vec<String>,
    at_sink: Vec<String>,
}

impl Load {
    /// The page made no request, and everything that reached the network's cut-off was
    /// the browser's own background traffic (sign-in, network time: never the page's).
    fn assert_offline(&self, what: &str) {
        assert_eq!(self.page_requests, Vec::<String>::new(), "{what} made requests");
        for request in &self.at_sink {
            let host = request_host(request);
            assert!(self.browser_hosts.contains(&host), "{what}: a request reached the network that the browser did not make on its own: {request}");
        }
    }
}

/// The host of a proxy request line: `CONNECT host:443 HTTP/1.1` or `GET http://host/path HTTP/1.1`.
fn request_host(line: &str) -> String {
    let target = line.split(' ').nth(1).unwrap_or("");
    let target = target.split_once("://").map_or(target, |(_, rest)| rest);
    target.split(['/', ':']).next().unwrap_or("").to_string()
}

/// The URL requests of a NetLog: (initiator, url) of each request job started.
fn netlog_requests(path: &Path) -> Vec<(String, String)> {
    let log: Value = serde_json::from_slice(&std::fs::read(path).expect("Chromium wrote no NetLog")).expect("the NetLog is JSON");
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    assert!(start_job.is_u64(), "the NetLog has no URL_REQUEST_START_JOB type");
    let events = log["events"].as_array().expect("the NetLog has events");
    events
        .iter()
        .filter(|e| e["type"] == *start_job && e["params"]["url"].is_string())
        .map(|e| (e["params"]["initiator"].as_str().unwrap_or("").to_string(), e["params"]["url"].as_str().unwrap().to_string()))
        .collect()
}

/// Opens `url` in headless Chromium (fresh profile; network only through `sink`, host
/// names resolving to nothing; a NetLog of every request) and returns what it showed.
fn load(chromium: &Path, url: &str, sink: &Sink) -> Load {
    let profile = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (stdout, stderr, netlog) = (logs.path().join("stdout"), logs.path().join("stderr"), logs.path().join("netlog.json"));
    sink.take();
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{}", sink.port))
        .arg("--proxy-bypass-list=<-loopback>")
        .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(["--virtual-time-budget=2000", "--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("step 3 of 3, browser: start {}: {e}", chromium.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "step 3 of 3, browser: chromium did not finish {url} in {CHROMIUM_DEADLINE:?} (a JavaScript dialog blocks --dump-dom: \
                 did an injected alert() run?):\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    let dom = std::fs::read_to_string(&stdout).unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "step 3 of 3, browser: chromium failed on {url} ({status}):\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    // Connections still in the sink's backlog belong to this run.
    std::thread::sleep(Duration::from_millis(200));
    let requests = netlog_requests(&netlog);
    let page_requests = requests.iter().filter(|(initiator, _)| initiator != "not an origin").map(|(_, url)| url.clone()).collect();
    let browser_hosts =
        requests.iter().filter(|(initiator, _)| initiator == "not an origin").map(|(_, url)| request_host(&format!("GET {url} HTTP/1.1"))).collect();
    Load { dom, page_requests, browser_hosts, at_sink: sink.take() }
}

fn file_url(path: &Path) -> String {
    let path = path.to_str().unwrap();
    assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)), "a path that needs encoding: {path}");
    format!("file://{path}")
}

#[test]
fn the_page_works_in_headless_chromium_without_network() {
    let started = Instant::now();
    let chromium = install_chromium();

    // Step 2: the report as the sweep writes it.
    let dir = tempfile::tempdir().expect("step 2 of 3, write: a temporary folder");
    let report = sample();
    std::fs::write(dir.path().join("report.json"), serde_json::to_vec_pretty(&report).unwrap()).expect("step 2 of 3, write: report.json");
    let mut file = std::fs::File::create(dir.path().join("report.html")).expect("step 2 of 3, write: report.html");
    write_sweep_html(&report, &mut file).expect("step 2 of 3, write: report.html");
    drop(file);
    let json: Value = serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();

    // Step 3: the browser. First the control: a page that loads an http:// image. The
    // NetLog must count it as the page's request and it must reach the sink, or neither
    // would prove anything about the report's page.
    let sink = Sink::start();
    let control_url = "http://sweep-html-control.invalid/x.png";
    std::fs::write(dir.path().join("control.html"), format!("<!DOCTYPE html><title>control</title><img src=\"{control_url}\">")).unwrap();
    let control = load(&chromium, &file_url(&dir.path().join("control.html")), &sink);
    assert_eq!(control.page_requests, [control_url], "the NetLog does not show the control page's request as the page's");
    assert!(
        control.at_sink.iter().any(|r| r.contains("sweep-html-control.invalid")),
        "the control page's request did not reach the sink: {:?}",
        control.at_sink
    );

    let page = file_url(&dir.path().join("report.html"));
    let report_load = load(&chromium, &page, &sink);
    report_load.assert_offline("report.html");
    let dom = report_load.dom;
    check_page(&dom, &json, "the DOM in Chromium");
    let body = start_tags(&dom, "<body")[0];
    assert!(!body.contains("pwned"), "an injected handler ran: {body}");
    let (names, count) = shown(&dom);
    assert_eq!(names.len(), 5, "without a filter every row is shown: {names:?}");
    assert_eq!(count, 5);

    // The filters, selected by the URL fragment; expected rows computed from report.json.
    let repositories = json["repositories"].as_array().unwrap();
    for (fragment, status, rule, expected) in [
        ("status=failed", Some("failed"), None, vec!["gamma"]),
        ("status=timed-out", Some("timed-out"), None, vec!["delta"]),
        ("rule=unsafe-extern-blocks", None, Some("unsafe-extern-blocks"), vec!["alpha"]),
        ("status=migrated&rule=keyword-gen", Some("migrated"), Some("keyword-gen"), vec!["alpha", "beta"]),
        ("status=unchanged&rule=keyword-gen", Some("unchanged"), Some("keyword-gen"), vec![]),
    ] {
        let filtered = load(&chromium, &format!("{page}#{fragment}"), &sink);
        filtered.assert_offline(&format!("report.html#{fragment}"));
        let dom = filtered.dom;
        let from_json: Vec<&str> = repositories
            .iter()
            .filter(|r| status.is_none_or(|s| r["status"] == s))
            .filter(|r| rule.is_none_or(|rule| r["by_rule"].get(rule).and_then(Value::as_u64).unwrap_or(0) > 0))
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(from_json, expected, "#{fragment}: the test's own expectation");
        let (names, count) = shown(&dom);
        assert_eq!(names, expected, "#{fragment}: rows shown");
        assert_eq!(count, expected.len() as u64, "#{fragment}: the count shown");
        if let (Some(status), None) = (status, rule) {
            assert_eq!(count, json["totals"]["by_status"][status].as_u64().unwrap(), "#{fragment}: the count is the status's total");
        }
        // The diffs follow the filter too.
        let diffs: Vec<&str> =
            start_tags(&dom, "<details class=\"repo\"").into_iter().filter(|t| !t.contains(" hidden")).map(|t| attribute(t, "data-diff-repo")).collect();
        let with_diff: Vec<&str> = expected.iter().copied().filter(|n| ["alpha", "beta"].contains(n)).collect();
        assert_eq!(diffs, with_diff, "#{fragment}: diffs shown");
    }
    eprintln!("report.html in Chromium: {:.1?} in all", started.elapsed());
}
