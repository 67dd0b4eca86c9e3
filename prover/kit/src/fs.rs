//! Files that are never half-written.

use crate::KitError;
use std::io::Write;
use std::path::Path;

/// Writes via a temporary file and a rename, so an existing file is never half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KitError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for content streamed by `f` (large keys).
pub fn write_atomic_with(
    path: &Path,
    f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), KitError> {
    let tmp = path.with_extension("tmp-write");
    {
        let file = std::fs::File::create(&tmp).map_err(KitError::io(&tmp))?;
        let mut w = std::io::BufWriter::new(file);
        f(&mut w).map_err(KitError::io(&tmp))?;
        w.flush().map_err(KitError::io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(KitError::io(path))
}

/// [`write_atomic`] of pretty-printed JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), KitError> {
    let text = serde_json::to_string_pretty(value).expect("serializable to JSON");
    write_atomic(path, text.as_bytes())
}
