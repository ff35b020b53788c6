//! Flags → requests, once: the rule selection (`--only`/`--skip`), the model (`--llm`
//! and friends), the build configuration, the write mode. What the operations receive is
//! resolved; nothing below the CLI reads a flag.

use std::time::Duration;

use anyhow::Result;

use super::args::{BuildArgs, EditionArgs, LlmArgs, LlmKind, SelectArgs, SweepArgs, UpgradeArgs, WriteArgs};
use crate::cargo::build::{BuildConfig, TargetKind};
use crate::cargo::discover::Selection;
use crate::judge::config::{self, ModelConfig};
use crate::ops::{edition, sweep, upgrade, ApplyOptions, WriteMode};

impl SelectArgs {
    /// The selection discovery takes.
    pub(super) fn selection(&self) -> Selection {
        Selection { manifest_path: self.manifest_path.clone(), packages: self.package.clone(), workspace: self.workspace }
    }
}

impl BuildArgs {
    /// The configuration the compiler phase builds with.
    pub(super) fn config(&self) -> BuildConfig {
        BuildConfig {
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            default_features: self.default_features,
            target: self.target.clone(),
            targets: [
                (self.lib, TargetKind::Lib),
                (self.bins, TargetKind::Bins),
                (self.tests, TargetKind::Tests),
                (self.examples, TargetKind::Examples),
                (self.benches, TargetKind::Benches),
            ]
            .into_iter()
            .filter_map(|(given, kind)| given.then_some(kind))
            .collect(),
        }
    }
}

impl WriteArgs {
    /// `--apply` (with its options; `--interactive` implies it), `--check`, or a dry run.
    pub(super) fn mode(&self) -> WriteMode {
        if self.apply || self.interactive {
            WriteMode::Apply(ApplyOptions {
                allow_dirty: self.allow_dirty,
                allow_no_vcs: self.allow_no_vcs,
                verify: self.verify,
                broken_code: self.broken_code,
            })
        } else if self.check {
            WriteMode::Check
        } else {
            WriteMode::DryRun
        }
    }
}

impl LlmArgs {
    /// The judge's model, as every operation takes it.
    pub(super) fn model_config(&self) -> ModelConfig {
        ModelConfig {
            kind: match self.llm {
                LlmKind::Ollama => config::LlmKind::Ollama,
                LlmKind::Openai => config::LlmKind::Openai,
                LlmKind::Replay => config::LlmKind::Replay,
                LlmKind::None => config::LlmKind::None,
            },
            name: self.model.clone(),
            url: self.llm_url.clone(),
            timeout: Duration::from_secs(self.llm_timeout),
            api_key_env: self.llm_api_key_env.clone(),
        }
    }
}

impl EditionArgs {
    /// The edition request. Unknown `--only`/`--skip` names are an error.
    pub(super) fn request(&self) -> Result<edition::Request> {
        let (rules, filter) = edition::select_rules(&self.to, &self.only, &self.skip)?;
        Ok(edition::Request {
            selection: self.select.selection(),
            rules,
            filter,
            to: self.to.clone(),
            from: self.from.clone(),
            build: self.build.config(),
            compiler: !self.build.no_compiler,
            judge: self.llm.model_config(),
            write: self.write.mode(),
        })
    }
}

impl UpgradeArgs {
    /// The upgrade request for `krate` (`None`: the crate of the `--pack` files).
    pub(super) fn request(&self, krate: Option<String>, target: Option<String>) -> upgrade::Request {
        upgrade::Request {
            krate,
            target,
            packs: self.packs.clone(),
            selection: self.select.selection(),
            build: self.build.config(),
            compiler: !self.build.no_compiler,
            judge: self.llm.model_config(),
            write: self.write.mode(),
            repair: self.repair,
            all_or_nothing: self.all_or_nothing,
        }
    }
}

impl SweepArgs {
    /// The sweep request; `--repos` and `--out` are required outside `sweep merge`.
    pub(super) fn request(&self) -> Result<sweep::Request> {
        let repos =
            self.repos.clone().ok_or_else(|| anyhow::anyhow!("sweep needs --repos PATH (a folder of checkouts, or a file listing paths and git URLs)"))?;
        let out = self.out.clone().ok_or_else(|| anyhow::anyhow!("sweep needs --out DIR (where the patches and the report go)"))?;
        let jobs = self.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Ok(sweep::Request {
            repos,
            options: sweep::worker::Options {
                migration: self.migration.clone(),
                compiler: !self.build.no_compiler,
                build: self.build.config(),
                judge: self.llm.model_config(),
                verify: self.verify,
                branch: self.apply.then(|| self.branch.clone()).flatten(),
            },
            out,
            cache: self.cache.clone(),
            target_dir: self.target_dir.clone(),
            jobs,
            timeout: Duration::from_secs(self.timeout.max(1)),
            shard: self.shard.as_deref().map(sweep::parse_shard).transpose()?,
        })
    }
}
