//! `cargo migrate sweep`, `sweep merge` and the hidden `sweep-worker`: the glue between
//! the sweep operation ([`crate::ops::sweep`]) and files: the workers' `<name>.json` and
//! `<name>.patch`, and the report (`report.json`, `report.html`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::args::{ColorChoice, SweepArgs, SweepCommand};
use super::render::{stderr, Spinner, NOTE, WARN};
use super::{ERROR, OK};
use crate::emit::{write_diff, write_sweep_html, DiffStyle};
use crate::ops::sweep::report::{Status, SweepReport};
use crate::ops::sweep::{self, merge, worker};
use crate::ops::Progress;

/// `cargo migrate sweep ...` and `sweep merge ...`.
pub(super) fn sweep_command(args: &SweepArgs) -> Result<u8> {
    super::init_logging(args.quiet, 0);
    if let Some(SweepCommand::Merge { dirs, out, color, quiet }) = &args.command {
        let report = merge::merge(dirs, out)?;
        write_report(&report, out)?;
        print_summary(*color, *quiet, &report, out, &[]);
        return Ok(OK);
    }
    let request = args.request()?;
    let spinner = Spinner::new(args.quiet, args.color);
    let exe = std::env::current_exe().context("cannot find this executable to start workers")?;
    let worker = move |job: &Path| {
        let mut cmd = Command::new(&exe);
        cmd.arg("sweep-worker").arg(job);
        cmd
    };
    let ran = sweep::run(&request, &worker, &spinner);
    spinner.finish();
    let (report, warnings) = ran?;
    write_report(&report, &request.out)?;
    print_summary(args.color, args.quiet, &report, &request.out, &warnings);
    Ok(OK)
}

/// Writes `report.json` and `report.html` into `out`.
fn write_report(report: &SweepReport, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(report)? + "\n";
    std::fs::write(out.join("report.json"), json).with_context(|| format!("cannot write {}", out.join("report.json").display()))?;
    let mut html = Vec::new();
    write_sweep_html(report, &mut html)?;
    std::fs::write(out.join("report.html"), html).with_context(|| format!("cannot write {}", out.join("report.html").display()))?;
    Ok(())
}

/// The sweep's last lines on stderr: counts and where the report is.
fn print_summary(color: ColorChoice, quiet: bool, report: &SweepReport, out: &Path, warnings: &[String]) {
    let mut err = stderr(color);
    for w in warnings {
        let _ = writeln!(err, "{}warning:{} {w}", WARN.render(), WARN.render_reset());
    }
    for r in report.repositories.iter().filter(|r| matches!(r.status, Status::Failed | Status::TimedOut)) {
        let _ =
            writeln!(err, "{}{}:{} {}: {}", WARN.render(), r.status.label(), WARN.render_reset(), r.name, r.reason.as_deref().unwrap_or("no reason recorded"));
    }
    if quiet {
        return;
    }
    let t = &report.totals;
    let count = |s: Status| t.by_status.get(s.label()).copied().unwrap_or(0);
    let _ = writeln!(
        err,
        "{}Swept{} {} repositor{}: {} migrated, {} unchanged, {} failed, {} timed out ({} reused from an earlier run); {} change(s), {} judged, {} to review in {:.1}s",
        NOTE.render(),
        NOTE.render_reset(),
        t.repositories,
        if t.repositories == 1 { "y" } else { "ies" },
        count(Status::Migrated),
        count(Status::Unchanged),
        count(Status::Failed),
        count(Status::TimedOut),
        report.reused,
        t.changes,
        t.judged,
        t.needs_review,
        report.seconds
    );
    let _ = writeln!(err, "{}Report{} {} (and report.json)", NOTE.render(), NOTE.render_reset(), out.join("report.html").display());
}

/// Progress of a worker: its steps as lines in its log.
struct LogProgress;

impl Progress for LogProgress {
    fn stage(&self, _: &str) {}
    fn step(&self, what: &str) {
        eprintln!("{what}");
    }
}

/// `cargo-migrate sweep-worker JOB`: one repository. Writes `<name>.json` (and
/// `<name>.patch` when something changed) into the sweep's output folder; prints
/// `reused` when the recorded result stands.
pub(super) fn worker_command(job: &PathBuf) -> u8 {
    let run = || -> Result<bool> {
        super::thread_pool(None)?;
        let text = std::fs::read_to_string(job).with_context(|| format!("cannot read the job {}", job.display()))?;
        let job: worker::Job = serde_json::from_str(&text).context("not a sweep job")?;
        let ran = worker::run(&job, &LogProgress);
        if ran.reused {
            return Ok(true);
        }
        let mut result = ran.result;
        let name = result.name.clone();
        let patch_path = job.out.join(format!("{name}.patch"));
        if ran.patch.is_empty() {
            let _ = std::fs::remove_file(&patch_path);
        } else {
            std::fs::write(&patch_path, &ran.patch).with_context(|| format!("cannot write {}", patch_path.display()))?;
            result.patch = Some(format!("{name}.patch"));
        }
        let mut diff = anstream::StripStream::new(Vec::new());
        for (prefix, migration) in &ran.migrations {
            let mut shown = crate::core::migration::Migration::default();
            for (display, file) in &migration.files {
                let mut file = file.clone();
                file.file.display = format!("{prefix}{display}");
                shown.files.insert(file.file.display.clone(), file);
            }
            write_diff(&shown, DiffStyle::Annotated, &mut diff)?;
        }
        result.diff = String::from_utf8_lossy(&diff.into_inner()).into_owned();
        eprintln!("{}: {} ({} change(s)) in {:.1}s", name, result.status.label(), result.changes, result.seconds);
        let json = serde_json::to_string_pretty(&result)? + "\n";
        std::fs::write(job.out.join(format!("{name}.json")), json)?;
        Ok(false)
    };
    match run() {
        Ok(reused) => {
            if reused {
                println!("reused");
            }
            OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ERROR
        }
    }
}
