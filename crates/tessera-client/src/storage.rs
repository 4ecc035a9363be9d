//! Where tokens live between runs: the [`TokenStorage`] trait, a JSON file written atomically
//! with mode 0600 ([`JsonFileTokenStorage`]), and an in-memory one.
//!
//! Tokens are kept by *namespace* (a program's choice: the CLI uses the server's URL, so one
//! file holds logins to several servers) and then by resource server. The file:
//!
//! ```json
//! {"format_version": "1",
//!  "data": {"https://auth.example.org": {
//!     "client_id": "…",
//!     "tokens": {"auth.globus.org": {"resource_server": "auth.globus.org", "scope": "openid",
//!                "access_token": "…", "refresh_token": "…", "expires_at_seconds": 1765000000,
//!                "token_type": "Bearer"}}}}}
//! ```

use crate::tokens::TokenData;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a token file this version reads: {detail}")]
    Format { path: PathBuf, detail: String },
}

/// What one namespace holds: the client the tokens were issued to (a refresh needs it) and
/// the tokens by resource server.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenData>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // TokenData's own Debug redacts the tokens.
        f.debug_struct("StoredTokens")
            .field("client_id", &self.client_id)
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// A place to keep tokens. Implementations must be safe to share between threads.
pub trait TokenStorage: Send + Sync + std::fmt::Debug {
    /// The tokens of `namespace`, if any.
    fn get(&self, namespace: &str) -> Result<Option<StoredTokens>, StorageError>;
    /// Replaces the tokens of `namespace`.
    fn store(&self, namespace: &str, tokens: &StoredTokens) -> Result<(), StorageError>;
    /// Forgets `namespace`; whether there was anything.
    fn remove(&self, namespace: &str) -> Result<bool, StorageError>;
    /// The namespaces holding tokens.
    fn namespaces(&self) -> Result<Vec<String>, StorageError>;

    /// Replaces one resource server's token in `namespace` (what a refresh hook does).
    fn store_token(&self, namespace: &str, token: &TokenData) -> Result<(), StorageError> {
        let mut all = self.get(namespace)?.unwrap_or_default();
        all.tokens
            .insert(token.resource_server.clone(), token.clone());
        self.store(namespace, &all)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct FileFormat {
    format_version: String,
    #[serde(default)]
    data: BTreeMap<String, StoredTokens>,
}

const FORMAT_VERSION: &str = "1";

/// Tokens in a JSON file, readable by its owner only (0600), replaced atomically (a
/// temporary file in the same directory, synced, then renamed over the old one), so a crash
/// or a concurrent reader never sees half a file.
///
/// ```no_run
/// use tessera_client::storage::{JsonFileTokenStorage, TokenStorage};
///
/// let storage = JsonFileTokenStorage::new("/home/me/.config/tessera/tokens.json");
/// if let Some(login) = storage.get("https://auth.example.org")? {
///     for (resource_server, token) in &login.tokens {
///         println!("{resource_server}: expires at {}", token.expires_at_seconds);
///     }
/// }
/// # Ok::<(), tessera_client::storage::StorageError>(())
/// ```
#[derive(Debug)]
pub struct JsonFileTokenStorage {
    path: PathBuf,
    /// Serialises read-modify-write within this process.
    lock: Mutex<()>,
}

impl JsonFileTokenStorage {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StorageError {
        StorageError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<FileFormat, StorageError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileFormat::default()),
            Err(e) => return Err(self.io(e)),
        };
        let file: FileFormat =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Format {
                path: self.path.clone(),
                detail: e.to_string(),
            })?;
        if file.format_version != FORMAT_VERSION {
            return Err(StorageError::Format {
                path: self.path.clone(),
                detail: format!("format_version {:?}", file.format_version),
            });
        }
        Ok(file)
    }

    fn write(&self, file: &FileFormat) -> Result<(), StorageError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| self.io(e))?;
        let body = serde_json::to_vec_pretty(file).map_err(|e| StorageError::Format {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        // tempfile creates the file 0600 on Unix.
        let mut tmp = tempfile::Builder::new()
            .prefix(".tokens-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| self.io(e))?;
        set_owner_only(tmp.path()).map_err(|e| self.io(e))?;
        tmp.write_all(&body).map_err(|e| self.io(e))?;
        tmp.as_file().sync_all().map_err(|e| self.io(e))?;
        tmp.persist(&self.path).map_err(|e| self.io(e.error))?;
        Ok(())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(unix)]
fn set_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_owner_only(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Creates `dir` (and parents) if missing; a directory it creates is 0700 on Unix.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

impl TokenStorage for JsonFileTokenStorage {
    fn get(&self, namespace: &str) -> Result<Option<StoredTokens>, StorageError> {
        let _g = self.guard();
        Ok(self.read()?.data.remove(namespace))
    }

    fn store(&self, namespace: &str, tokens: &StoredTokens) -> Result<(), StorageError> {
        let _g = self.guard();
        let mut file = self.read()?;
        file.format_version = FORMAT_VERSION.into();
        file.data.insert(namespace.to_owned(), tokens.clone());
        self.write(&file)
    }

    fn remove(&self, namespace: &str) -> Result<bool, StorageError> {
        let _g = self.guard();
        let mut file = self.read()?;
        let had = file.data.remove(namespace).is_some();
        if had {
            if file.data.is_empty() {
                std::fs::remove_file(&self.path).map_err(|e| self.io(e))?;
            } else {
                self.write(&file)?;
            }
        }
        Ok(had)
    }

    fn namespaces(&self) -> Result<Vec<String>, StorageError> {
        let _g = self.guard();
        Ok(self.read()?.data.into_keys().collect())
    }
}

/// Tokens in memory, lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryTokenStorage {
    data: Mutex<BTreeMap<String, StoredTokens>>,
}

impl MemoryTokenStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredTokens>> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStorage for MemoryTokenStorage {
    fn get(&self, namespace: &str) -> Result<Option<StoredTokens>, StorageError> {
        Ok(self.data().get(namespace).cloned())
    }

    fn store(&self, namespace: &str, tokens: &StoredTokens) -> Result<(), StorageError> {
        self.data().insert(namespace.to_owned(), tokens.clone());
        Ok(())
    }

    fn remove(&self, namespace: &str) -> Result<bool, StorageError> {
        Ok(self.data().remove(namespace).is_some())
    }

    fn namespaces(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.data().keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn token(rs: &str, at: &str) -> TokenData {
        TokenData {
            resource_server: rs.into(),
            scope: "s".into(),
            access_token: at.into(),
            refresh_token: Some("rt".into()),
            expires_at_seconds: 10,
            token_type: "Bearer".into(),
        }
    }

    fn round_trip(s: &dyn TokenStorage) {
        assert_eq!(s.get("a").unwrap(), None);
        let mut t = StoredTokens {
            client_id: Some("c".into()),
            ..Default::default()
        };
        t.tokens.insert("rs1".into(), token("rs1", "one"));
        s.store("a", &t).unwrap();
        s.store("b", &t).unwrap();
        s.store_token("a", &token("rs2", "two")).unwrap();
        s.store_token("a", &token("rs1", "three")).unwrap();
        let a = s.get("a").unwrap().unwrap();
        assert_eq!(a.client_id.as_deref(), Some("c"));
        assert_eq!(a.tokens["rs1"].access_token, "three");
        assert_eq!(a.tokens["rs2"].access_token, "two");
        assert_eq!(s.get("b").unwrap().unwrap(), t);
        assert_eq!(s.namespaces().unwrap(), ["a", "b"]);
        assert!(s.remove("a").unwrap());
        assert!(!s.remove("a").unwrap());
        assert_eq!(s.get("a").unwrap(), None);
        assert!(s.get("b").unwrap().is_some());
    }

    #[test]
    fn memory_storage_keeps_namespaces_apart() {
        round_trip(&MemoryTokenStorage::new());
    }

    #[test]
    fn the_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/sub/tokens.json");
        let s = JsonFileTokenStorage::new(&path);
        round_trip(&s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tokens.json"]);
        // Removing the last namespace removes the file.
        assert!(s.remove("b").unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_ours_is_an_error_not_an_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, "not json").unwrap();
        let s = JsonFileTokenStorage::new(&path);
        assert!(matches!(s.get("a"), Err(StorageError::Format { .. })));
        assert!(s.store("a", &StoredTokens::default()).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    }
}
