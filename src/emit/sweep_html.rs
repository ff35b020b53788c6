//! `report.html`: the sweep's report as one static, self-contained page for people. No
//! external URL of any kind (no CDN, font or image): the CSS and a small vanilla script
//! are inline, and a Content-Security-Policy lets the page load nothing else and run only
//! its own script (by hash). Everything is rendered here; the script only filters.
//!
//! The page shows, top to bottom: the run (migration, tool version, options, shards, run
//! time), the totals as figures, the table of repositories with filters by status and by
//! rule (a rule keeps the repositories with at least one change of it; `#status=failed`,
//! `#rule=keyword-gen` or both joined by `&` in the URL preselect them, so a filtered view
//! can be shared), the needs-review sites of every repository, and each repository's
//! annotated diff, collapsed.
//!
//! Every text of the report is HTML-escaped. The elements tests and tools read have
//! stable attributes: `data-total="repositories|changes|judged|needs-review|verify-broken"`
//! and `data-status-total="<status>"` on the figures, `data-repo`, `data-status` and
//! `data-rules` (a JSON array) on the rows of `#repos`, `#shown-count` for the rows shown,
//! `data-review-repo` on the rows of `#review`, `data-diff-repo` on the diffs of `#diffs`.

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::ops::sweep::report::{RepoResult, Status, SweepReport, VerifyResult};

/// Every status, in the order the page lists them.
const STATUSES: [Status; 4] = [Status::Migrated, Status::Unchanged, Status::Failed, Status::TimedOut];

/// Fails to compile when `Status` gains a variant, so that [`STATUSES`] is updated with it.
const _: fn(Status) = |s| match s {
    Status::Migrated | Status::Unchanged | Status::Failed | Status::TimedOut => (),
};

const STYLE: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto; padding: 1em 1.5em 3em; max-width: 1400px; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.5em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; margin: 0; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 1em 0; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 0.4em 0.9em; min-width: 7.5em; background: var(--bg2); }
.figure .n { display: block; font-size: 1.7em; font-weight: 600; }
.figure .label { color: var(--muted); }
.figure.bad .n { color: #cf222e; }
.filters { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; margin: 0.5em 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg2); position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.reason { white-space: pre-wrap; word-break: break-word; }
.status { display: inline-block; padding: 0 0.5em; border-radius: 1em; font-size: 0.9em; border: 1px solid var(--line); }
.status-migrated { background: #dafbe1; }
.status-unchanged { background: #eef1f4; }
.status-failed { background: #ffebe9; color: #a40e26; }
.status-timed-out { background: #fff8c5; color: #7d4e00; }
.broken { color: #cf222e; font-weight: 600; }
.muted { color: var(--muted); }
.links a { margin-right: 0.4em; }
details.repo { border: 1px solid var(--line); border-radius: 6px; margin: 0.5em 0; }
details.repo > summary { cursor: pointer; padding: 0.4em 0.8em; background: var(--bg2); }
details.repo > .body { padding: 0.4em 0.8em; }
pre.diff { margin: 0.3em 0; overflow-x: auto; line-height: 1.35; }
pre.diff span { display: block; padding: 0 0.4em; white-space: pre; }
pre.diff .file { font-weight: 700; background: #eef1f4; }
pre.diff .hunk { color: #6639ba; background: #f5f0ff; }
pre.diff .add { background: #e6ffec; }
pre.diff .del { background: #ffebe9; }
pre.diff .ann { color: #0550ae; background: #ddf4ff; font-style: italic; border-left: 3px solid #54aeff; }
ul.notes { margin: 0.3em 0; padding-left: 1.2em; }
[hidden] { display: none !important; }
"#;

const SCRIPT: &str = r##"
(function () {
  "use strict";
  var status = document.getElementById("filter-status");
  var rule = document.getElementById("filter-rule");
  var count = document.getElementById("shown-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#repos tbody tr[data-status]"));
  var diffs = Array.prototype.slice.call(document.querySelectorAll("#diffs [data-status]"));
  function keep(el) {
    if (status.value && el.getAttribute("data-status") !== status.value) return false;
    if (rule.value && JSON.parse(el.getAttribute("data-rules")).indexOf(rule.value) < 0) return false;
    return true;
  }
  function select(sel, value) {
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === value) { sel.selectedIndex = i; return; }
    }
  }
  function fromHash() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) return false;
    select(status, ""); select(rule, "");
    hash.split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i < 0) return;
      var key = decodeURIComponent(part.slice(0, i)), value = decodeURIComponent(part.slice(i + 1));
      if (key === "status") select(status, value);
      if (key === "rule") select(rule, value);
    });
    return true;
  }
  function apply() {
    var shown = 0;
    rows.forEach(function (r) { var k = keep(r); r.hidden = !k; if (k) shown++; });
    diffs.forEach(function (d) { d.hidden = !keep(d); });
    count.textContent = String(shown);
  }
  function share() {
    var parts = [];
    if (status.value) parts.push("status=" + encodeURIComponent(status.value));
    if (rule.value) parts.push("rule=" + encodeURIComponent(rule.value));
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search); } catch (e) {}
  }
  function changed() { apply(); share(); }
  status.addEventListener("change", changed);
  rule.addEventListener("change", changed);
  // `#repo-N` (the links of the tables) opens that repository's diff.
  function openTarget() {
    var target = /^#repo-[0-9]+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
    if (target) { target.hidden = false; target.open = true; target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", function () { if (fromHash()) apply(); else openTarget(); });
  function openAll(open) {
    diffs.forEach(function (d) { if (!d.hidden) d.open = open; });
  }
  document.getElementById("expand-all").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { openAll(false); });
  fromHash();
  apply();
  openTarget();
})();
"##;

/// Writes `report.html` for `report`.
pub fn write_sweep_html(report: &SweepReport, out: &mut dyn Write) -> std::io::Result<()> {
    let mut page = String::with_capacity(64 * 1024 + report.repositories.iter().map(|r| r.diff.len() * 2).sum::<usize>());
    render(report, &mut page);
    out.write_all(page.as_bytes())
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn render(report: &SweepReport, p: &mut String) {
    let t = &report.totals;
    let title = format!("cargo migrate sweep: {}", report.migration);
    let csp = format!("default-src 'none'; style-src '{}'; script-src '{}'; base-uri 'none'; form-action 'none'", csp_hash(STYLE), csp_hash(SCRIPT));
    p.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    p.push_str(&format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"));
    p.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    p.push_str(&format!("<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n", escape(&title)));

    // The run.
    p.push_str(&format!("<header>\n<h1>{}</h1>\n<dl class=\"run\">\n", escape(&title)));
    let shards = if report.shards.is_empty() {
        "none (the whole list)".to_string()
    } else {
        report.shards.iter().map(|s| format!("{}/{}", s.index, s.count)).collect::<Vec<_>>().join(", ")
    };
    let options = if report.options.is_empty() { "(defaults)" } else { report.options.as_str() };
    for (label, key, value) in [
        ("Migration", "migration", report.migration.as_str()),
        ("Tool version", "tool-version", report.tool_version.as_str()),
        ("Options", "options", options),
        ("Shards", "shards", shards.as_str()),
        ("Run time", "run-time", duration(report.seconds).as_str()),
        ("Repositories' time", "repositories-time", duration(t.seconds).as_str()),
        ("Results reused", "reused", report.reused.to_string().as_str()),
    ] {
        p.push_str(&format!("<dt>{label}</dt><dd data-run=\"{key}\">{}</dd>\n", escape(value)));
    }
    p.push_str("</dl>\n</header>\n");

    // The figures.
    p.push_str("<section id=\"totals\" class=\"figures\">\n");
    figure(p, "data-total=\"repositories\"", t.repositories, "repositories", false);
    for status in status_labels(report) {
        let n = t.by_status.get(&status).copied().unwrap_or(0);
        let bad = n > 0 && (status == Status::Failed.label() || status == Status::TimedOut.label());
        figure(p, &format!("data-status-total=\"{}\"", escape(&status)), n, &status, bad);
    }
    figure(p, "data-total=\"changes\"", t.changes, "changes", false);
    figure(p, "data-total=\"judged\"", t.judged, "judged", false);
    figure(p, "data-total=\"needs-review\"", t.needs_review, "needs review", false);
    figure(p, "data-total=\"verify-broken\"", t.verify_broken, "verify broken", t.verify_broken > 0);
    p.push_str("</section>\n");

    repositories_table(report, p);
    review_section(report, p);
    diffs_section(report, p);

    p.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
}

/// The status labels to show: every status, then any other label the totals hold.
fn status_labels(report: &SweepReport) -> Vec<String> {
    let mut labels: Vec<String> = STATUSES.iter().map(|s| s.label().to_string()).collect();
    for label in report.totals.by_status.keys() {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    labels
}

fn figure(p: &mut String, attribute: &str, n: usize, label: &str, bad: bool) {
    let class = if bad { "figure bad" } else { "figure" };
    p.push_str(&format!("<div class=\"{class}\"><span class=\"n\" {attribute}>{n}</span><span class=\"label\">{}</span></div>\n", escape(label)));
}

fn repositories_table(report: &SweepReport, p: &mut String) {
    let t = &report.totals;
    p.push_str("<section id=\"repositories\">\n<h2>Repositories</h2>\n<div class=\"filters\">\n");
    p.push_str("<label>Status <select id=\"filter-status\">\n<option value=\"\">all statuses</option>\n");
    for status in status_labels(report) {
        let n = t.by_status.get(&status).copied().unwrap_or(0);
        p.push_str(&format!("<option value=\"{0}\">{0} ({n})</option>\n", escape(&status)));
    }
    p.push_str("</select></label>\n<label>Rule <select id=\"filter-rule\">\n<option value=\"\">all rules</option>\n");
    for rule in rules(report) {
        let n = t.by_rule.get(&rule).copied().unwrap_or(0);
        p.push_str(&format!("<option value=\"{0}\">{0} ({n} changes)</option>\n", escape(&rule)));
    }
    p.push_str("</select></label>\n");
    p.push_str(&format!(
        "<span class=\"count\"><span id=\"shown-count\">{}</span> of <span id=\"row-count\">{}</span> repositories shown</span>\n</div>\n",
        report.repositories.len(),
        report.repositories.len()
    ));
    p.push_str("<table id=\"repos\">\n<thead><tr><th>Repository</th><th>Status</th><th class=\"num\">Changes</th><th class=\"num\">Judged</th>");
    p.push_str("<th class=\"num\">Needs review</th><th>Verify</th><th class=\"num\">Seconds</th><th>Reason</th><th>Files</th></tr></thead>\n<tbody>\n");
    for (i, r) in report.repositories.iter().enumerate() {
        let name = if r.diff.is_empty() { escape(&r.name) } else { format!("<a href=\"#repo-{i}\">{}</a>", escape(&r.name)) };
        let rules = rules_attribute(r);
        let label = r.status.label();
        p.push_str(&format!("<tr data-repo=\"{}\" data-status=\"{label}\" data-rules=\"{rules}\">", escape(&r.name)));
        p.push_str(&format!("<td class=\"mono\" title=\"{}\">{name}</td>", escape(&r.source)));
        p.push_str(&format!("<td><span class=\"status status-{label}\">{label}</span></td>"));
        p.push_str(&format!("<td class=\"num\" data-col=\"changes\">{}</td>", r.changes));
        p.push_str(&format!("<td class=\"num\" data-col=\"judged\">{}</td>", r.judged));
        p.push_str(&format!("<td class=\"num\" data-col=\"needs-review\">{}</td>", r.needs_review));
        p.push_str(&format!("<td data-col=\"verify\">{}</td>", verify(r.verify.as_ref())));
        p.push_str(&format!("<td class=\"num\" data-col=\"seconds\">{:.1}</td>", r.seconds));
        p.push_str(&format!("<td class=\"reason\" data-col=\"reason\">{}</td>", escape(r.reason.as_deref().unwrap_or(""))));
        let file = percent_encode(&r.name);
        let mut links = String::new();
        if r.patch.is_some() || r.status == Status::Migrated {
            links.push_str(&format!("<a href=\"{file}.patch\">patch</a>"));
        }
        links.push_str(&format!("<a href=\"{file}.json\">json</a><a href=\"{file}.log\">log</a>"));
        p.push_str(&format!("<td class=\"links\">{links}</td></tr>\n"));
    }
    p.push_str("</tbody>\n</table>\n</section>\n");
}

/// Every rule with changes: those the totals count, and any a repository counts beyond them.
fn rules(report: &SweepReport) -> Vec<String> {
    let mut rules: Vec<String> = report.totals.by_rule.keys().cloned().collect();
    for r in &report.repositories {
        for rule in r.by_rule.keys() {
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
    }
    rules.sort();
    rules
}

/// The repository's rules with at least one change, as an escaped JSON array.
fn rules_attribute(r: &RepoResult) -> String {
    let rules: Vec<&str> = r.by_rule.iter().filter(|(_, n)| **n > 0).map(|(rule, _)| rule.as_str()).collect();
    escape(&serde_json::to_string(&rules).expect("strings serialize"))
}

fn verify(v: Option<&VerifyResult>) -> String {
    match v {
        None => "<span class=\"muted\">—</span>".to_string(),
        Some(v) => {
            let mut details = Vec::new();
            if v.introduced > 0 {
                details.push(format!("{} introduced", v.introduced));
            }
            if v.reverted > 0 {
                details.push(format!("{} reverted", v.reverted));
            }
            if v.preexisting > 0 {
                details.push(format!("{} before", v.preexisting));
            }
            let details = if details.is_empty() { String::new() } else { format!(" <span class=\"muted\">({})</span>", details.join(", ")) };
            if v.builds {
                format!("builds{details}")
            } else {
                format!("<span class=\"broken\">broken</span>{details}")
            }
        }
    }
}

fn review_section(report: &SweepReport, p: &mut String) {
    let sites: usize = report.repositories.iter().map(|r| r.review.len()).sum();
    p.push_str(&format!("<section id=\"review\">\n<h2>Needs review (<span id=\"review-count\">{sites}</span> sites)</h2>\n"));
    if sites == 0 {
        p.push_str("<p class=\"muted\">No site needs a review.</p>\n</section>\n");
        return;
    }
    p.push_str("<table>\n<thead><tr><th>Repository</th><th>Place</th><th>Rule</th><th>Reason</th></tr></thead>\n<tbody>\n");
    for (i, r) in report.repositories.iter().enumerate() {
        for site in &r.review {
            let name = if r.diff.is_empty() { escape(&r.name) } else { format!("<a href=\"#repo-{i}\">{}</a>", escape(&r.name)) };
            p.push_str(&format!(
                "<tr data-review-repo=\"{}\"><td class=\"mono\">{name}</td><td class=\"mono\">{}:{}</td><td class=\"mono\">{}</td><td class=\"reason\">{}</td></tr>\n",
                escape(&r.name),
                escape(&site.file),
                site.line,
                escape(&site.rule),
                escape(&site.reason)
            ));
        }
    }
    p.push_str("</tbody>\n</table>\n</section>\n");
}

fn diffs_section(report: &SweepReport, p: &mut String) {
    p.push_str("<section id=\"diffs\">\n<h2>Diffs</h2>\n");
    p.push_str("<p><button type=\"button\" id=\"expand-all\">Expand all</button> <button type=\"button\" id=\"collapse-all\">Collapse all</button></p>\n");
    let mut any = false;
    for (i, r) in report.repositories.iter().enumerate() {
        if r.diff.is_empty() && r.notes.is_empty() {
            continue;
        }
        any = true;
        let label = r.status.label();
        p.push_str(&format!(
            "<details class=\"repo\" id=\"repo-{i}\" data-diff-repo=\"{}\" data-status=\"{label}\" data-rules=\"{}\">\n",
            escape(&r.name),
            rules_attribute(r)
        ));
        let (changes, files) = (counted(r.changes, "change"), counted(r.files, "file"));
        p.push_str(&format!(
            "<summary><span class=\"mono\">{}</span> <span class=\"status status-{label}\">{label}</span> <span class=\"muted\">{changes} in {files}; {} needs review</span></summary>\n<div class=\"body\">\n",
            escape(&r.name),
            r.needs_review
        ));
        if !r.workspaces.is_empty() || !r.input.is_empty() {
            p.push_str(&format!(
                "<p class=\"muted\">Source <span class=\"mono\">{}</span>, input <span class=\"mono\">{}</span>{}</p>\n",
                escape(&r.source),
                escape(&r.input),
                if r.workspaces.is_empty() { String::new() } else { format!(", workspaces <span class=\"mono\">{}</span>", escape(&r.workspaces.join(", "))) }
            ));
        }
        if let (Some(branch), commit) = (&r.branch, &r.commit) {
            let commit = commit.as_deref().map(|c| format!(" at <span class=\"mono\">{}</span>", escape(c))).unwrap_or_default();
            p.push_str(&format!("<p>Branch <span class=\"mono\">{}</span>{commit}</p>\n", escape(branch)));
        }
        if !r.notes.is_empty() {
            p.push_str("<ul class=\"notes\">\n");
            for note in &r.notes {
                p.push_str(&format!("<li class=\"mono\">{}</li>\n", escape(note)));
            }
            p.push_str("</ul>\n");
        }
        if !r.diff.is_empty() {
            p.push_str("<pre class=\"diff\">");
            for line in r.diff.lines() {
                p.push_str(&format!("<span class=\"{}\">{}</span>", line_class(line), escape(line)));
            }
            p.push_str("</pre>\n");
        }
        p.push_str("</div>\n</details>\n");
    }
    if !any {
        p.push_str("<p class=\"muted\">No repository has changes.</p>\n");
    }
    p.push_str("</section>\n");
}

/// The class of a line of an annotated diff.
fn line_class(line: &str) -> &'static str {
    if line.starts_with("# ") || line == "#" {
        "ann"
    } else if line.starts_with("@@") {
        "hunk"
    } else if ["--- a/", "+++ b/", "--- /dev/null", "+++ /dev/null", "diff --git "].iter().any(|p| line.starts_with(p)) {
        "file"
    } else if line.starts_with('+') {
        "add"
    } else if line.starts_with('-') {
        "del"
    } else {
        "ctx"
    }
}

/// `1 change`, `2 changes`.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", super::plural(n))
}

/// `12.3 s`, `4 min 05 s`, `2 h 03 min`.
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// A file name as a relative URL path: every byte but unreserved ones percent-encoded.
fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A CSP source for an inline element: `sha256-<base64 of the digest of its text>`.
fn csp_hash(text: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(text.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn diff_lines_are_classified() {
        assert_eq!(line_class("# keyword-gen [safe, by rule] line 3: ..."), "ann");
        assert_eq!(line_class("@@ -1,3 +1,3 @@"), "hunk");
        assert_eq!(line_class("--- a/src/lib.rs"), "file");
        assert_eq!(line_class("+++ b/src/lib.rs"), "file");
        assert_eq!(line_class("+let r#gen = 1;"), "add");
        assert_eq!(line_class("-let gen = 1;"), "del");
        assert_eq!(line_class(" fn main() {}"), "ctx");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(245.0), "4 min 05 s");
        assert_eq!(duration(7390.0), "2 h 03 min");
    }

    #[test]
    fn file_names_are_percent_encoded() {
        assert_eq!(percent_encode("tom&jerry's x"), "tom%26jerry%27s%20x");
    }
}
