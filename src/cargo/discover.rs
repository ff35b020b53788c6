//! Discovery: which packages and targets to migrate, from `cargo metadata`, and how a
//! `mod` declaration leads to a file (following `#[path]` and `cfg`-disabled modules,
//! which `cargo fix` never sees).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Edition, MetadataCommand};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::punctuated::Punctuated;

use crate::core::model::CfgStatus;
use crate::syntax::cfg::CfgSet;
use crate::syntax::tokens::{for_each_sequence, is_group, is_ident, is_punct};

/// The workspace to migrate.
#[derive(Debug)]
pub struct Workspace {
    /// The workspace root directory.
    pub root: PathBuf,
    /// The root `Cargo.toml` (holds `[workspace]`), which may belong to no package.
    pub root_manifest: PathBuf,
    /// The selected packages.
    pub packages: Vec<Package>,
    /// Cargo's target directory (where the judge's verdict cache lives).
    pub target_dir: PathBuf,
}

/// A package selected for migration.
#[derive(Debug)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Path of its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Its current edition.
    pub edition: Edition,
    /// The cfg set `cargo check` would build it with (host, default features, test).
    pub cfg: CfgSet,
    /// Root source files of its targets (lib, bins, tests, examples, benches, build.rs).
    pub roots: Vec<PathBuf>,
    /// The targets `cargo check --all-targets` builds, as cargo's flags name them (`("lib",
    /// name)`, `("test", "io_read_line")`, ...).
    pub targets: Vec<(String, String)>,
}

/// Which packages to select.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p NAME`, repeatable.
    pub packages: Vec<String>,
    /// `--workspace`: every member.
    pub workspace: bool,
}

impl Package {
    /// Its edition as the migration knows them (`None` for one newer than 2024).
    pub fn edition(&self) -> Option<crate::core::edition::Edition> {
        crate::core::edition::Edition::parse(self.edition.as_str())
    }

    /// The package spec for `cargo -p`: `name@version`, which stays unambiguous when a
    /// dependency has the same name (tokio's dev-dependencies pull in another tokio).
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

impl Workspace {
    /// The oldest edition among the selected packages (2021 when none is selected).
    pub fn oldest_edition(&self) -> crate::core::edition::Edition {
        self.packages.iter().filter_map(Package::edition).min().unwrap_or(crate::core::edition::Edition::E2021)
    }

    /// Runs `cargo metadata` (no dependencies: nothing is downloaded) and selects packages.
    /// `rustc --print cfg` ([`host_cfg`]) runs at the same time: each costs about as much
    /// as the syntactic pass of a small crate.
    pub fn discover(sel: &Selection) -> Result<Workspace> {
        let mut cmd = MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = &sel.manifest_path {
            cmd.manifest_path(path);
        }
        let (meta, host) = std::thread::scope(|s| {
            let host = s.spawn(host_cfg);
            let meta = cmd.exec();
            (meta, host.join().expect("`rustc --print cfg` is asked without panicking"))
        });
        let meta = meta.context("`cargo metadata` failed: is this a Cargo project?")?;
        let members = if sel.workspace || !sel.packages.is_empty() { meta.workspace_packages() } else { meta.workspace_default_packages() };
        let mut selected: Vec<_> = if sel.packages.is_empty() {
            members
        } else {
            let mut out = Vec::new();
            for name in &sel.packages {
                match members.iter().find(|p| p.name.as_str() == name.as_str()) {
                    Some(p) => out.push(*p),
                    None => bail!(
                        "package `{name}` is not a member of this workspace (members: {})",
                        members.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                }
            }
            out
        };
        selected.sort_by(|a, b| a.name.cmp(&b.name));
        let packages = selected
            .into_iter()
            .map(|p| {
                let mut cfg = host.clone();
                for feature in default_features(&p.features) {
                    cfg = cfg.with_feature(&feature);
                }
                let mut roots: Vec<PathBuf> = p.targets.iter().map(|t| t.src_path.clone().into_std_path_buf()).collect();
                roots.sort();
                roots.dedup();
                let targets = p
                    .targets
                    .iter()
                    .filter_map(|t| {
                        let flag = t.kind.iter().find_map(|k| match k.to_string().as_str() {
                            "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro" => Some("lib"),
                            "bin" => Some("bin"),
                            "test" => Some("test"),
                            "bench" => Some("bench"),
                            "example" => Some("example"),
                            _ => None,
                        })?;
                        Some((flag.to_string(), t.name.to_string()))
                    })
                    .collect();
                Package {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                    manifest_path: p.manifest_path.clone().into_std_path_buf(),
                    edition: p.edition,
                    cfg,
                    roots,
                    targets,
                }
            })
            .collect();
        let root = meta.workspace_root.clone().into_std_path_buf();
        let target_dir = meta.target_directory.clone().into_std_path_buf();
        Ok(Workspace { root_manifest: root.join("Cargo.toml"), root, packages, target_dir })
    }

    /// A path as shown to the user: relative to the workspace root, `/`-separated.
    pub fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }
}

/// The features enabled by `default`, followed transitively.
fn default_features(features: &std::collections::BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut on: Vec<String> = Vec::new();
    let mut todo = vec!["default".to_string()];
    while let Some(f) = todo.pop() {
        if on.contains(&f) {
            continue;
        }
        if let Some(implied) = features.get(&f) {
            todo.extend(implied.iter().filter(|i| !i.contains('/') && !i.starts_with("dep:")).cloned());
        }
        on.push(f);
    }
    on
}

/// A file a `mod name;` declaration may load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRef {
    /// Candidate files (`name.rs`, `name/mod.rs`); the first that exists is the module.
    pub candidates: Vec<PathBuf>,
    /// Whether the declaration is under an active cfg.
    pub cfg: CfgStatus,
    /// Whether the file was named by `#[path]`: its child modules then live beside it.
    pub from_path_attr: bool,
}

/// Whether `path` is a "mod-rs" file: a crate root, a `mod.rs`, or a file loaded through
/// `#[path]`, whose child modules live beside it rather than in a folder named after it.
pub fn module_dir(path: &Path, mod_rs: bool) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    if mod_rs || path.file_name().is_some_and(|n| n == "mod.rs") {
        parent
    } else {
        parent.join(path.file_stem().unwrap_or_default())
    }
}

/// Finds the out-of-line `mod` declarations of a parsed file, including those inside
/// inline modules, behind `#[cfg]` that is off, with `#[path]` (plain or in `cfg_attr`),
/// and inside macro invocations such as `cfg_if!`.
pub fn module_refs(file: &syn::File, path: &Path, mod_rs: bool, cfg: &CfgSet) -> Vec<ModuleRef> {
    let mut out = Vec::new();
    let ctx = ModCtx { file_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(), dir: module_dir(path, mod_rs), inline: false };
    walk_items(&file.items, &ctx, cfg, CfgStatus::Active, &mut out);
    out
}

/// [`module_refs`] of a file syn cannot read (2015 syntax that the compiler's changes for
/// 2018 will make readable: an anonymous parameter, `async` as a name), from its tokens:
/// `mod name;` and inline `mod name { .. }` at item level with their attributes, and
/// `mod name;` inside macro invocations.
pub fn module_refs_in_tokens(tokens: &TokenStream, path: &Path, mod_rs: bool, cfg: &CfgSet) -> Vec<ModuleRef> {
    let mut out = Vec::new();
    let ctx = ModCtx { file_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(), dir: module_dir(path, mod_rs), inline: false };
    token_items(tokens, &ctx, cfg, CfgStatus::Active, &mut out);
    out
}

fn token_items(tokens: &TokenStream, ctx: &ModCtx, cfg: &CfgSet, status: CfgStatus, out: &mut Vec<ModuleRef>) {
    let seq: Vec<TokenTree> = tokens.clone().into_iter().collect();
    for i in 0..seq.len() {
        if is_ident(&seq[i], "mod") {
            let Some(TokenTree::Ident(name)) = seq.get(i + 1) else { continue };
            let attrs = preceding_attrs(&seq[..i]);
            let st = status.and(cfg.status_of(&attrs));
            let paths = path_attrs(&attrs, cfg);
            match seq.get(i + 2) {
                Some(t) if is_punct(t, ';') => resolve(ctx, &name.to_string(), &paths, st, out),
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    let dir = match paths.first() {
                        Some((p, _)) => ctx.dir.join(p),
                        None => ctx.dir.join(name.to_string()),
                    };
                    token_items(&g.stream(), &ModCtx { file_dir: ctx.file_dir.clone(), dir, inline: true }, cfg, st, out);
                }
                _ => {}
            }
        } else if let (TokenTree::Ident(_), Some(bang), Some(TokenTree::Group(g))) = (&seq[i], seq.get(i + 1), seq.get(i + 2)) {
            if is_punct(bang, '!') && !is_ident(&seq[i], "macro_rules") {
                macro_mods(&g.stream(), ctx, cfg, status.and(CfgStatus::Unknown), out);
            }
        }
    }
}

struct ModCtx {
    /// The folder of the file that holds the declaration.
    file_dir: PathBuf,
    /// The folder where child modules are looked for.
    dir: PathBuf,
    /// Whether we are inside an inline `mod x { ... }`.
    inline: bool,
}

fn walk_items(items: &[syn::Item], ctx: &ModCtx, cfg: &CfgSet, status: CfgStatus, out: &mut Vec<ModuleRef>) {
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                let st = status.and(cfg.status_of(&m.attrs));
                let paths = path_attrs(&m.attrs, cfg);
                match &m.content {
                    None => resolve(ctx, &m.ident.to_string(), &paths, st, out),
                    Some((_, inner)) => {
                        let dir = match paths.first() {
                            Some((p, _)) => ctx.dir.join(p),
                            None => ctx.dir.join(m.ident.to_string()),
                        };
                        let inner_ctx = ModCtx { file_dir: ctx.file_dir.clone(), dir, inline: true };
                        walk_items(inner, &inner_ctx, cfg, st, out);
                    }
                }
            }
            syn::Item::Macro(m) if m.ident.is_none() && m.mac.path.segments.last().is_some_and(|s| s.ident == "cfg_if") => {
                for (branch, taken) in crate::syntax::cfg::cfg_if_branches(&m.mac.tokens, cfg) {
                    macro_mods(&branch.stream(), ctx, cfg, status.and(cfg.status_of(&m.attrs)).and(taken), out);
                }
            }
            // The invocation's own `#[cfg]` first: what a cfg-disabled macro would expand to
            // is not compiled either.
            syn::Item::Macro(m) if m.ident.is_none() => macro_mods(&m.mac.tokens, ctx, cfg, status.and(cfg.status_of(&m.attrs)).and(CfgStatus::Unknown), out),
            _ => {}
        }
    }
}

/// `mod name;` written inside a macro invocation, with the status the caller knows for it
/// (a `cfg_if!` branch's, or unknown for other macros).
fn macro_mods(tokens: &TokenStream, ctx: &ModCtx, cfg: &CfgSet, status: CfgStatus, out: &mut Vec<ModuleRef>) {
    for_each_sequence(tokens, &mut |seq| {
        for i in 0..seq.len().saturating_sub(2) {
            if is_ident(&seq[i], "mod") && matches!(seq[i + 1], TokenTree::Ident(_)) && is_punct(&seq[i + 2], ';') {
                let attrs = preceding_attrs(&seq[..i]);
                let paths = path_attrs(&attrs, cfg);
                let own = cfg.status_of(&attrs);
                resolve(ctx, &seq[i + 1].to_string(), &paths, status.and(own), out);
            }
        }
    });
}

/// Attributes written right before position `end` of a token sequence (skipping `pub`).
fn preceding_attrs(seq: &[TokenTree]) -> Vec<syn::Attribute> {
    let mut end = seq.len();
    while end > 0 && (is_ident(&seq[end - 1], "pub") || is_group(&seq[end - 1], Delimiter::Parenthesis)) {
        end -= 1;
    }
    let mut start = end;
    while start >= 2 && is_group(&seq[start - 1], Delimiter::Bracket) && is_punct(&seq[start - 2], '#') {
        start -= 2;
    }
    let tokens: TokenStream = seq[start..end].iter().cloned().collect();
    syn::parse::Parser::parse2(syn::Attribute::parse_outer, tokens).unwrap_or_default()
}

/// The values of `#[path = ".."]` and of `path = ".."` inside `#[cfg_attr(pred, ..)]`,
/// each with the status of its condition: every one is a file the module comes from on
/// some configuration.
fn path_attrs(attrs: &[syn::Attribute], cfg: &CfgSet) -> Vec<(String, CfgStatus)> {
    let mut out = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("path") {
            if let syn::Meta::NameValue(nv) = &attr.meta {
                if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                    out.push((s.value(), CfgStatus::Active));
                }
            }
        } else if attr.path().is_ident("cfg_attr") {
            let Ok(list) = attr.meta.require_list() else { continue };
            let Ok(args) = list.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated) else {
                continue;
            };
            let Some(pred) = args.first() else { continue };
            let status = match cfg.eval(pred) {
                Some(true) => CfgStatus::Active,
                Some(false) => CfgStatus::Inactive,
                None => CfgStatus::Unknown,
            };
            for meta in args.iter().skip(1) {
                if let syn::Meta::NameValue(nv) = meta {
                    if nv.path.is_ident("path") {
                        if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                            out.push((s.value(), status));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Removes `.` and `..` components without touching the file system, so that one file
/// reached as `tests/../src/a.rs` and `src/a.rs` is read once.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn resolve(ctx: &ModCtx, name: &str, paths: &[(String, CfgStatus)], cfg: CfgStatus, out: &mut Vec<ModuleRef>) {
    if paths.is_empty() {
        let candidates = vec![ctx.dir.join(format!("{name}.rs")), ctx.dir.join(name).join("mod.rs")];
        out.push(ModuleRef { candidates, cfg, from_path_attr: false });
        return;
    }
    // Outside inline modules a path is relative to the declaring file's folder; inside
    // them, to the folder the inline modules stand for.
    let base = if ctx.inline { &ctx.dir } else { &ctx.file_dir };
    for (path, status) in paths {
        out.push(ModuleRef { candidates: vec![normalize(&base.join(path))], cfg: cfg.and(*status), from_path_attr: true });
    }
}

/// The host's configuration, from `rustc --print cfg` (`$RUSTC` if set), plus `test` and
/// `debug_assertions` (a `cargo check --all-targets` build has both). Asked once per
/// process and `rustc` (`migrate_source` calls this for every text).
pub fn host_cfg() -> CfgSet {
    static ASKED: std::sync::Mutex<Option<(String, CfgSet)>> = std::sync::Mutex::new(None);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let mut asked = ASKED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, cfg)) = asked.as_ref().filter(|(r, _)| *r == rustc) {
        return cfg.clone();
    }
    let printed = std::process::Command::new(&rustc)
        .args(["--print", "cfg"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let cfg = CfgSet::for_checking(&printed);
    *asked = Some((rustc, cfg.clone()));
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(src: &str, path: &str, mod_rs: bool) -> Vec<ModuleRef> {
        let file = syn::parse_file(src).unwrap();
        let cfg = CfgSet::parse_print_cfg("unix\n");
        module_refs(&file, Path::new(path), mod_rs, &cfg)
    }

    #[test]
    fn finds_modules_in_tokens_of_a_file_syn_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.rs", "inner/b.rs", "other.rs"] {
            std::fs::create_dir_all(dir.path().join(f).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let text = "trait T { fn f(&self, u8); }\npub mod a;\nmod inner { mod b; }\n#[path = \"other.rs\"] mod c;\n#[cfg(any())] mod d;\nfn async() {}\n";
        assert!(syn::parse_file(text).is_err());
        let tokens: TokenStream = text.parse().unwrap();
        let found: Vec<(String, CfgStatus)> = module_refs_in_tokens(&tokens, &dir.path().join("lib.rs"), true, &CfgSet::default())
            .into_iter()
            .map(|m| (m.candidates[0].strip_prefix(dir.path()).unwrap().display().to_string(), m.cfg))
            .collect();
        assert_eq!(
            found,
            [
                ("a.rs".to_string(), CfgStatus::Active),
                ("inner/b.rs".to_string(), CfgStatus::Active),
                ("other.rs".to_string(), CfgStatus::Active),
                ("d.rs".to_string(), CfgStatus::Inactive)
            ]
        );
    }

    #[test]
    fn resolves_plain_nested_and_path_modules() {
        let r = refs("mod a; #[cfg(windows)] mod w; mod inl { mod b; #[path = \"x.rs\"] mod c; } #[path = \"p/q.rs\"] mod d;", "/c/src/lib.rs", true);
        assert_eq!(r[0].candidates, [PathBuf::from("/c/src/a.rs"), PathBuf::from("/c/src/a/mod.rs")]);
        assert_eq!(r[0].cfg, CfgStatus::Active);
        assert_eq!(r[1].cfg, CfgStatus::Inactive);
        assert_eq!(r[2].candidates[0], PathBuf::from("/c/src/inl/b.rs"));
        assert_eq!(r[3].candidates, [PathBuf::from("/c/src/inl/x.rs")]);
        assert_eq!(r[4].candidates, [PathBuf::from("/c/src/p/q.rs")]);
    }

    #[test]
    fn paths_are_normalized() {
        let r = refs("#[path = \"../src/a.rs\"] mod a;", "/c/tests/t.rs", true);
        assert_eq!(r[0].candidates, [PathBuf::from("/c/src/a.rs")]);
        assert_eq!(normalize(Path::new("a/./b/../../c")), PathBuf::from("c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn non_mod_rs_files_own_a_folder() {
        let r = refs("mod a;", "/c/src/net.rs", false);
        assert_eq!(r[0].candidates[0], PathBuf::from("/c/src/net/a.rs"));
        let r = refs("#[path = \"z.rs\"] mod a;", "/c/src/net.rs", false);
        assert_eq!(r[0].candidates[0], PathBuf::from("/c/src/z.rs"));
    }

    #[test]
    fn finds_cfg_attr_paths_and_modules_inside_macros() {
        let r = refs(
            "#[cfg_attr(unix, path = \"unix.rs\")] #[cfg_attr(windows, path = \"windows.rs\")] mod sys;\n\
             cfg_if::cfg_if! { if #[cfg(unix)] { mod u; } else { #[path = \"o.rs\"] mod other; } }",
            "/c/src/lib.rs",
            true,
        );
        assert_eq!(r[0].candidates, [PathBuf::from("/c/src/unix.rs")]);
        assert_eq!(r[0].cfg, CfgStatus::Active);
        assert_eq!(r[1].candidates, [PathBuf::from("/c/src/windows.rs")]);
        assert_eq!(r[1].cfg, CfgStatus::Inactive);
        assert_eq!(r[2].candidates[0], PathBuf::from("/c/src/u.rs"));
        assert_eq!(r[2].cfg, CfgStatus::Active, "the taken branch of cfg_if");
        assert_eq!(r[3].cfg, CfgStatus::Inactive, "the other branch");
        assert_eq!(r[3].candidates, [PathBuf::from("/c/src/o.rs")]);
    }
}
