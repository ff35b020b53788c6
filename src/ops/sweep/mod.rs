//! `sweep`: one migration over many repositories, each isolated (its own worker process,
//! timeout, log and result), resumable, and sharded by a stable hash so that a CI matrix
//! or a Kubernetes Indexed Job can split it.
//!
//! - [`repos`]: the repository list, names, identities, workspaces, inputs.
//! - [`worker`]: what one worker does to one repository.
//! - [`report`]: the results as data (`<name>.json`, `report.json`).
//! - [`merge`]: shard folders into one report.
//!
//! The orchestrator ([`run`]) starts one worker process per repository (the front end
//! says how: the CLI runs itself), at most `jobs` at a time, each with its stderr in
//! `<name>.log` and stopped at `timeout`; a worker that crashes, hangs or cannot build a
//! repository costs that repository only.

pub mod merge;
pub mod report;
pub mod repos;
pub mod worker;

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::Progress;
use report::{RepoResult, Shard, Status, SweepReport, Totals, REPORT_VERSION};
use repos::Repo;
use worker::{Job, Options};

/// The file in an output folder that says which sweep its results belong to.
pub const MARKER: &str = "sweep.json";

/// A sweep, fully resolved.
#[derive(Clone, Debug)]
pub struct Request {
    /// `--repos`: a folder of checkouts or a list file.
    pub repos: PathBuf,
    /// What to do to each repository.
    pub options: Options,
    /// The output folder.
    pub out: PathBuf,
    /// Where git URLs are cloned (default: `<out>/.sweep/clones`).
    pub cache: Option<PathBuf>,
    /// One cargo target directory for every worker. By default each repository builds in
    /// a target directory of its own (`<out>/.sweep/target/<name>`, removed when it is
    /// done): cargo locks a target directory for a whole build, so a shared one
    /// serializes the workers' builds and lets one hanging build stop the others.
    pub target_dir: Option<PathBuf>,
    /// Repositories at once.
    pub jobs: usize,
    /// Per repository.
    pub timeout: Duration,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
}

/// What an output folder was made by: a later run or a merge must match it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The `cargo-migrate` version.
    pub tool_version: String,
    /// The migration.
    pub migration: String,
    /// The options, in words.
    pub options: String,
    /// The shard, if any.
    pub shard: Option<Shard>,
}

impl Marker {
    fn of(req: &Request) -> Marker {
        Marker {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            migration: req.options.migration.clone(),
            options: req.options.describe(),
            shard: req.shard,
        }
    }
}

/// Parses `K/N` (1-based, as `cargo nextest --partition count:K/N`).
pub fn parse_shard(text: &str) -> Result<Shard> {
    let (k, n) = text.split_once('/').with_context(|| format!("--shard {text}: expected K/N, e.g. 3/16"))?;
    let (index, count): (usize, usize) = (k.trim().parse().context("--shard: K is not a number")?, n.trim().parse().context("--shard: N is not a number")?);
    if count == 0 || index == 0 || index > count {
        bail!("--shard {text}: K must be between 1 and N (1-based)");
    }
    Ok(Shard { index, count })
}

/// Checks that `out` holds no other sweep's results, and marks it as this sweep's.
fn claim_output(out: &Path, marker: &Marker) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let path = out.join(MARKER);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let theirs: Marker = serde_json::from_str(&text).with_context(|| format!("{} is not a sweep marker; use another --out", path.display()))?;
            if theirs != *marker {
                bail!(
                    "{} holds the results of another sweep ({}, {}, cargo-migrate {}{}); use another --out, or remove that folder",
                    out.display(),
                    theirs.migration,
                    theirs.options,
                    theirs.tool_version,
                    theirs.shard.map(|s| format!(", shard {}/{}", s.index, s.count)).unwrap_or_default()
                );
            }
        }
        Err(_) => {
            let has_files = std::fs::read_dir(out)?.flatten().any(|e| !e.file_name().to_string_lossy().starts_with('.'));
            if has_files {
                bail!("{} is not empty and holds no sweep; use an empty or new --out folder", out.display());
            }
            std::fs::write(&path, serde_json::to_string_pretty(marker)? + "\n")?;
        }
    }
    Ok(())
}

/// Counts for the progress line.
#[derive(Default)]
struct Tally {
    done: usize,
    failed: usize,
    reused: usize,
    running: Vec<String>,
}

/// Runs the sweep. `worker` makes the command that runs one job file (the CLI runs
/// itself as `cargo-migrate sweep-worker JOB`); the worker writes `<name>.json` and
/// `<name>.patch` into the output folder. Returns the report of this run's repositories
/// (this shard's, with `--shard`).
pub fn run(req: &Request, worker: &(dyn Fn(&Path) -> Command + Sync), progress: &dyn Progress) -> Result<(SweepReport, Vec<String>)> {
    let started = Instant::now();
    req.options.upgrade_spec().map_err(anyhow::Error::msg)?;
    if let Some(branch) = &req.options.branch {
        let ok = Command::new("git").args(["check-ref-format", "--branch", branch]).output().is_ok_and(|o| o.status.success());
        if !ok {
            bail!("--branch {branch}: not a valid git branch name");
        }
    }
    let marker = Marker::of(req);
    claim_output(&req.out, &marker)?;
    let (mut list, warnings) = repos::list(&req.repos)?;
    if let Some(shard) = req.shard {
        list.retain(|r| r.shard(shard.count) == shard.index);
    }
    let state = req.out.join(".sweep");
    let jobs_dir = state.join("jobs");
    std::fs::create_dir_all(&jobs_dir)?;
    let cache = req.cache.clone().unwrap_or_else(|| state.join("clones"));
    let own_targets = state.join("target");
    let own_work = state.join("work");

    let queue: Mutex<VecDeque<Repo>> = Mutex::new(list.iter().cloned().collect());
    let tally = Mutex::new(Tally::default());
    let results: Mutex<Vec<RepoResult>> = Mutex::new(Vec::with_capacity(list.len()));
    let total = list.len();
    let show = |t: &Tally| {
        let remaining = total - t.done - t.running.len();
        progress.stage(&format!(
            "{} done ({} failed, {} reused), {} running, {remaining} to go{}",
            t.done,
            t.failed,
            t.reused,
            t.running.len(),
            if t.running.is_empty() { String::new() } else { format!(": {}", t.running.join(", ")) }
        ));
    };
    std::thread::scope(|scope| {
        for _ in 0..req.jobs.max(1).min(total.max(1)) {
            scope.spawn(|| loop {
                let Some(repo) = queue.lock().expect("queue").pop_front() else { break };
                {
                    let mut t = tally.lock().expect("tally");
                    t.running.push(repo.name.clone());
                    show(&t);
                }
                let scratch = own_work.join(&repo.name);
                let job = Job { repo: repo.clone(), options: req.options.clone(), out: req.out.clone(), cache: cache.clone(), scratch: Some(scratch.clone()) };
                let own = own_targets.join(&repo.name);
                let target_dir = req.target_dir.clone().unwrap_or_else(|| own.clone());
                let (result, reused) = run_worker(&job, &jobs_dir, &target_dir, req.timeout, worker);
                worker::remove_scratch(&scratch);
                let (status, changes) = (result.status, result.changes);
                results.lock().expect("results").push(result);
                if req.target_dir.is_none() {
                    let _ = std::fs::remove_dir_all(&own);
                }
                let mut t = tally.lock().expect("tally");
                t.running.retain(|n| *n != repo.name);
                t.done += 1;
                t.failed += usize::from(matches!(status, Status::Failed | Status::TimedOut));
                t.reused += usize::from(reused);
                progress.step(&format!(
                    "Swept [{}/{total}] {}: {}{}",
                    t.done,
                    repo.name,
                    status.label(),
                    if reused {
                        " (reused)".to_string()
                    } else if changes > 0 {
                        format!(", {changes} change(s)")
                    } else {
                        String::new()
                    }
                ));
                show(&t);
            });
        }
    });
    let reused = tally.lock().expect("tally").reused;
    let mut repositories = results.into_inner().expect("results");
    repositories.sort_by(|a, b| a.name.cmp(&b.name));
    let report = SweepReport {
        version: REPORT_VERSION,
        tool_version: marker.tool_version,
        migration: marker.migration,
        options: marker.options,
        shards: req.shard.into_iter().collect(),
        totals: Totals::of(&repositories),
        repositories,
        reused,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, warnings))
}

/// Runs one worker process for `job` and waits for it (at most `timeout`). Returns the
/// repository's result, as the worker recorded it in `<name>.json`, and whether it was
/// reused; a worker that leaves no result, crashes or runs late is recorded here as failed
/// or timed out, with the end of its log as the reason.
fn run_worker(job: &Job, jobs_dir: &Path, target_dir: &Path, timeout: Duration, worker: &(dyn Fn(&Path) -> Command + Sync)) -> (RepoResult, bool) {
    let name = &job.repo.name;
    let job_file = jobs_dir.join(format!("{name}.json"));
    let log_tmp = jobs_dir.join(format!("{name}.log"));
    let log = job.out.join(format!("{name}.log"));
    let fail = |status: Status, reason: String| {
        let _ = std::fs::rename(&log_tmp, &log);
        let mut r = RepoResult::new(name, &job.repo.source, "", "", status);
        r.reason = Some(reason);
        let _ = std::fs::write(job.out.join(format!("{name}.json")), serde_json::to_string_pretty(&r).unwrap_or_default() + "\n");
        (r, false)
    };
    if let Err(e) = std::fs::write(&job_file, serde_json::to_string_pretty(job).unwrap_or_default()) {
        return fail(Status::Failed, format!("cannot write the job file: {e}"));
    }
    let Ok(log_file) = std::fs::File::create(&log_tmp) else { return fail(Status::Failed, "cannot create the log".into()) };
    let mut cmd = worker(&job_file);
    cmd.env("CARGO_TARGET_DIR", target_dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log_file);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(Status::Failed, format!("cannot start the worker: {e}")),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                kill_group(&mut child);
                return fail(Status::TimedOut, format!("stopped after the --timeout of {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return fail(Status::Failed, format!("cannot wait for the worker: {e}")),
        }
    };
    let mut said = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let reused = said.lines().any(|l| l.trim() == "reused");
    if reused {
        let _ = std::fs::remove_file(&log_tmp);
    }
    match worker::recorded(&job.out, name) {
        Some(r) if status.success() => {
            let _ = std::fs::rename(&log_tmp, &log);
            (r, reused)
        }
        _ => {
            let text = std::fs::read_to_string(&log_tmp).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
            fail(Status::Failed, format!("the worker failed ({status}){}", if tail.is_empty() { String::new() } else { format!(": {}", tail.join(" / ")) }))
        }
    }
}

/// Stops a worker and everything it started (cargo, rustc).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
    }
    let _ = child.kill();
    let _ = child.wait();
}
