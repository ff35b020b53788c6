//! The verdict cache: the answers models gave, on disk, keyed by what was asked and who
//! was asked. A re-run asks nothing it has asked before, and `--llm replay` reproduces a
//! reviewed run offline (in CI, on a plane) through [`ReplayModel`].
//!
//! Layout: one JSON file per verdict, `DIR/KEY.json`, where KEY is the SHA-256 (hex) of
//! the site, the model name and [`PROMPT_VERSION`]. Each file is written atomically
//! (temporary file in DIR, then rename), so a crash never leaves half a verdict and
//! concurrent runs at worst write the same verdict twice. A file that cannot be read back
//! is ignored (the site is asked again) and reported with `tracing::warn!`.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::llm::{parse_answer, Answer, LlmError, Model, Question, PROMPT_VERSION};

/// The `option` of a cache entry that holds an explanation (its `reason` is the text).
const EXPLANATION: &str = "explanation";

/// The format of one cache file; bumped if its shape changes.
const ENTRY_FORMAT: u32 = 1;

/// A cache key: the hex SHA-256 of the site, the model and the prompt version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerdictKey(String);

impl VerdictKey {
    /// The key of `site` (whatever text identifies the site and its context: the caller
    /// decides; two sites with the same text share a verdict) asked of `model`.
    /// Each part is length-prefixed, so no two different pairs hash the same text.
    pub fn new(model: &str, site: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in ["cargo-migrate verdict", PROMPT_VERSION, model, site] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest.iter() {
            hex.push_str(&format!("{byte:02x}"));
        }
        VerdictKey(hex)
    }

    /// The key of a question asked of `model`: the site is everything the model was
    /// shown (instructions, prompt with the code and its context, the offered ids). This
    /// is the key [`ReplayModel`] looks up, since a question is all it is given.
    pub fn for_question(model: &str, question: &Question) -> Self {
        let site = serde_json::json!({
            "system": question.system,
            "prompt": question.prompt,
            "options": question.option_ids,
        });
        VerdictKey::new(model, &site.to_string())
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for VerdictKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One cache file.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    format: u32,
    key: String,
    model: String,
    prompt_version: String,
    answer: Answer,
}

/// Why a verdict could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("cannot store a verdict in {path}: {source}")]
pub struct CacheWriteError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// The I/O failure.
    #[source]
    pub source: std::io::Error,
}

/// The verdicts stored under one directory (the caller uses
/// `target/cargo-migrate/verdicts`). The directory is created on the first write.
#[derive(Clone, Debug)]
pub struct VerdictCache {
    dir: PathBuf,
}

impl VerdictCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        VerdictCache { dir: dir.into() }
    }

    /// The cache of a workspace whose target directory is `target_dir`:
    /// `<target_dir>/cargo-migrate/verdicts`, the one place every operation uses.
    pub fn in_target_dir(target_dir: &Path) -> Self {
        VerdictCache::new(target_dir.join("cargo-migrate").join("verdicts"))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds (or would hold) the verdict for `key`.
    pub fn path(&self, key: &VerdictKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.0))
    }

    /// The stored answer for `key`, if there is a readable one. A missing file is a
    /// plain miss; an unreadable or corrupt one is a miss reported with `tracing::warn!`.
    /// The answer is not validated against any question here: [`ReplayModel`] does that.
    pub fn get(&self, key: &VerdictKey) -> Option<Answer> {
        let path = self.path(key);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read a cached verdict; asking again");
                return None;
            }
        };
        match serde_json::from_str::<Entry>(&text) {
            Ok(entry) if entry.key == key.0 && entry.prompt_version == PROMPT_VERSION && entry.format == ENTRY_FORMAT => Some(entry.answer),
            Ok(_) => {
                tracing::warn!(path = %path.display(), "a cached verdict does not match its key, prompt version or format; ignoring it");
                None
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "a cached verdict is corrupt; ignoring it");
                None
            }
        }
    }

    /// The explanation text stored for `key` ([`crate::judge::explain`]: its keys hash
    /// what was asked under a prefix of their own, so they never meet a verdict's).
    pub fn get_explanation(&self, key: &VerdictKey) -> Option<String> {
        self.get(key).filter(|a| a.option == EXPLANATION).map(|a| a.reason)
    }

    /// Stores an explanation's raw text for `key`, as [`VerdictCache::put`] stores a verdict.
    pub fn put_explanation(&self, key: &VerdictKey, model: &str, text: &str) -> Result<(), CacheWriteError> {
        self.put(key, model, &Answer { option: EXPLANATION.to_string(), reason: text.to_string() })
    }

    /// Stores `answer` for `key` (given by `model`), replacing any previous one,
    /// atomically: a temporary file in the cache directory, flushed, then renamed.
    pub fn put(&self, key: &VerdictKey, model: &str, answer: &Answer) -> Result<(), CacheWriteError> {
        let dir_error = |source| CacheWriteError { path: self.dir.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(dir_error)?;
        let entry =
            Entry { format: ENTRY_FORMAT, key: key.0.clone(), model: model.to_string(), prompt_version: PROMPT_VERSION.to_string(), answer: answer.clone() };
        let mut text = serde_json::to_string_pretty(&entry).expect("a verdict always serializes");
        text.push('\n');
        let mut tmp = tempfile::Builder::new().prefix(".verdict-").suffix(".tmp").tempfile_in(&self.dir).map_err(dir_error)?;
        tmp.write_all(text.as_bytes()).map_err(dir_error)?;
        tmp.as_file().sync_all().map_err(dir_error)?;
        let path = self.path(key);
        tmp.persist(&path).map_err(|e| CacheWriteError { path, source: e.error })?;
        Ok(())
    }
}

/// A model that answers only from the verdict cache (`--llm replay`): the answers a
/// model gave in an earlier, reviewed run, for exactly the same questions. A question
/// with no cached verdict is [`LlmError::NotCached`]; a cached answer that does not fit
/// the question (an id it does not offer, no reason: a hand-edited cache) is
/// [`LlmError::Invalid`], like a live model's.
#[derive(Clone, Debug)]
pub struct ReplayModel {
    cache: VerdictCache,
    model: String,
}

impl ReplayModel {
    /// Replays the verdicts `model` gave, from `cache`.
    pub fn new(cache: VerdictCache, model: &str) -> Self {
        ReplayModel { cache, model: model.to_string() }
    }
}

impl Model for ReplayModel {
    /// The replayed model's name: the verdicts are that model's, and the keys use it.
    fn name(&self) -> String {
        self.model.clone()
    }

    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        let key = VerdictKey::for_question(&self.model, question);
        match self.cache.get(&key) {
            Some(answer) => {
                let raw = serde_json::to_string(&answer).expect("an answer always serializes");
                parse_answer(&raw, question)
            }
            None => Err(LlmError::NotCached { model: self.model.clone(), key: key.0 }),
        }
    }

    /// Free text (a repair, an explanation) is never replayed by the model: callers that
    /// cache such answers look them up themselves ([`VerdictCache::get_explanation`]).
    fn complete_json(&self, system: &str, prompt: &str, _: &serde_json::Value, _: u32) -> Result<String, LlmError> {
        Err(LlmError::NotCached { model: self.model.clone(), key: VerdictKey::new(&self.model, &format!("{system}\n{prompt}")).0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn question() -> Question {
        Question {
            system: "You judge Rust edition migrations.".into(),
            prompt: "if let Some(x) = cell.borrow().get(0) { .. } else { cell.borrow_mut().push(1) }".into(),
            option_ids: vec!["keep-if-let".into(), "rewrite-to-match".into()],
        }
    }

    fn answer() -> Answer {
        Answer { option: "keep-if-let".into(), reason: "2021 would panic: the borrow lives into else".into() }
    }

    #[test]
    fn keys_depend_on_model_site_and_nothing_else() {
        let k = VerdictKey::new("m", "site");
        assert_eq!(k, VerdictKey::new("m", "site"));
        assert_eq!(k.as_str().len(), 64);
        assert!(k.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(k, VerdictKey::new("m2", "site"));
        assert_ne!(k, VerdictKey::new("m", "site2"));
        // Length prefixes: moving a boundary changes the key.
        assert_ne!(VerdictKey::new("ab", "c"), VerdictKey::new("a", "bc"));
        let q = question();
        let mut other = q.clone();
        other.option_ids.reverse();
        assert_ne!(VerdictKey::for_question("m", &q), VerdictKey::for_question("m", &other));
    }

    #[test]
    fn put_then_get_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::new(dir.path().join("verdicts"));
        let key = VerdictKey::new("m", "site");
        assert_eq!(cache.get(&key), None);
        cache.put(&key, "m", &answer()).unwrap();
        assert_eq!(cache.get(&key), Some(answer()));
        let replaced = Answer { option: "rewrite-to-match".into(), reason: "r".into() };
        cache.put(&key, "m", &replaced).unwrap();
        assert_eq!(cache.get(&key), Some(replaced));
        let names: Vec<_> = std::fs::read_dir(cache.dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, vec![format!("{key}.json")]);
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn corrupt_or_foreign_entries_are_ignored_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::new(dir.path());
        let key = VerdictKey::new("m", "site");
        let other = VerdictKey::new("m", "other site");
        cache.put(&other, "m", &answer()).unwrap();
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            std::fs::write(cache.path(&key), "{\"format\":1,\"key\":").unwrap();
            assert_eq!(cache.get(&key), None);
            // A valid entry copied under another key's name.
            std::fs::copy(cache.path(&other), cache.path(&key)).unwrap();
            assert_eq!(cache.get(&key), None);
            // A missing entry is a plain miss.
            assert_eq!(cache.get(&VerdictKey::new("m", "never asked")), None);
        });
        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.matches("WARN").count(), 2, "{logs}");
        assert!(logs.contains("corrupt") && logs.contains("does not match its key"), "{logs}");
    }

    #[test]
    fn replay_answers_from_the_cache_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VerdictCache::new(dir.path());
        let replay = ReplayModel::new(cache.clone(), "qwen");
        let q = question();
        match replay.ask(&q) {
            Err(e @ LlmError::NotCached { .. }) => {
                assert!(!e.is_fatal_for_run());
                assert!(e.to_string().contains("qwen"), "{e}");
            }
            other => panic!("expected NotCached, got {other:?}"),
        }
        cache.put(&VerdictKey::for_question("qwen", &q), "qwen", &answer()).unwrap();
        assert_eq!(replay.ask(&q).unwrap(), answer());
        assert_eq!(replay.name(), "qwen");
        // Another model's verdicts are not this one's.
        assert!(matches!(ReplayModel::new(cache.clone(), "other").ask(&q), Err(LlmError::NotCached { .. })));
        // A hand-edited verdict that picks an id the question does not offer is rejected.
        let mut narrower = q.clone();
        narrower.option_ids = vec!["rewrite-to-match".into()];
        cache.put(&VerdictKey::for_question("qwen", &narrower), "qwen", &answer()).unwrap();
        assert!(matches!(replay.ask(&narrower), Err(LlmError::Invalid(_))));
    }
}
