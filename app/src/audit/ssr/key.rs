//! The key that signs checkpoints, and the hash that chains records.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key that signs checkpoints (HMAC-SHA256). Never logged, never sent anywhere.
#[derive(Clone)]
pub struct AuditKey {
    secret: Vec<u8>,
    /// A fingerprint that names the key in checkpoints without revealing it.
    pub id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    pub fn from_secret(secret: Vec<u8>) -> Self {
        let id = hex::encode(&Sha256::digest([b"workspaces-portal audit key\n".as_slice(), &secret].concat())[..6]);
        AuditKey { secret, id }
    }

    /// Reads the key file (hex), creating it with a new random key (mode 0600) if it is missing.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        Self::read(path, true)
    }

    /// Reads the key file, which must exist.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        Self::read(path, false)
    }

    fn read(path: &Path, create: bool) -> std::io::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let secret = hex::decode(text.trim()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: the audit key must be hexadecimal", path.display()),
                    )
                })?;
                if secret.len() < 16 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: the audit key must be at least 16 bytes", path.display()),
                    ));
                }
                Ok(Self::from_secret(secret))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Err(std::io::Error::new(
                e.kind(),
                format!("{}: no audit key there (see --audit-key-file)", path.display()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::ssr::db::private_dir(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                use std::io::Write;
                options.open(path)?.write_all(hex::encode(&secret).as_bytes())?;
                tracing::info!(path = %path.display(), "created a new audit signing key");
                Ok(Self::from_secret(secret))
            }
            Err(e) => Err(e),
        }
    }

    pub fn sign(&self, chain_seq: i64, hash: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("{chain_seq}:{hash}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The MAC of `text` for `purpose` (pending rows, the anchor): each purpose signs its own
    /// domain, so one signature cannot stand for another.
    pub fn sign_text(&self, purpose: &str, text: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("workspaces-portal {purpose}\n{text}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn check_text(&self, purpose: &str, text: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("workspaces-portal {purpose}\n{text}").as_bytes());
        mac.verify_slice(&signature).is_ok()
    }

    pub fn check(&self, chain_seq: i64, hash: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("{chain_seq}:{hash}").as_bytes());
        mac.verify_slice(&signature).is_ok()
    }
}

/// The hash of a record in the chain: SHA-256 over the previous hash, its position and its JSON.
pub fn chain_hash(prev_hash: &str, chain_seq: i64, json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(chain_seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    hex::encode(h.finalize())
}

/// What a pending row's MAC covers.
pub fn pending_text(event_id: &str, json: &str) -> String {
    format!("{event_id}\n{json}")
}

/// What the anchor's MAC covers.
pub fn anchor_text(chain_seq: i64, prev_hash: &str, cutoff: &str, retention_days: i64, pruned_at: &str) -> String {
    format!("{chain_seq}\n{prev_hash}\n{cutoff}\n{retention_days}\n{pruned_at}")
}

/// What a checkpoint's MAC covers: the position, its hash, and when it was signed (so that the
/// checkpoints' cadence cannot be faked either).
pub fn checkpoint_text(chain_seq: i64, hash: &str, created_at: &str) -> String {
    format!("{chain_seq}\n{hash}\n{created_at}")
}
