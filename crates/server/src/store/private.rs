//! Files only this user may read: the data directory (0700) and what confab keeps in it
//! (0600). The chat database holds what people said; the TURN secret mints relay
//! credentials; neither is anyone else's business on a shared machine.
//!
//! New files and directories are created with these modes (the umask can only narrow
//! them); existing ones that other users could read are narrowed, with a log line, so an
//! upgrade from an older confab or a file restored with other modes is fixed at start.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The data directory's mode.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file confab writes there.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, or narrows an existing one that group or
/// others may enter to its owner's bits.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    narrow(dir, DIR_MODE)
}

/// Creates `file` empty as 0600 if it does not exist, or narrows an existing one that
/// group or others may read. Call before a library (SQLite) opens it, so it never
/// exists with looser modes, and its journal files (which SQLite creates with the
/// database's mode) inherit 0600.
pub fn private_file(file: &Path) -> io::Result<()> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(file)?;
    narrow(file, FILE_MODE)
}

/// Narrows `path` to `mode` if it exists with bits for group or others.
pub fn narrow_if_exists(path: &Path, mode: u32) -> io::Result<()> {
    match narrow(path, mode) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn narrow(path: &Path, mode: u32) -> io::Result<()> {
    let now = fs::metadata(path)?.permissions().mode() & 0o777;
    if now & 0o077 == 0 {
        return Ok(());
    }
    let narrowed = now & mode;
    fs::set_permissions(path, Permissions::from_mode(narrowed))?;
    tracing::info!(
        path = %path.display(),
        from = format!("{now:o}"),
        to = format!("{narrowed:o}"),
        "made private"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::tests::TempDir;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_ones_are_private_and_loose_ones_are_narrowed() {
        let tmp = TempDir::new("private");
        let dir = tmp.0.join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("f");
        private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        private_file(&f).unwrap();
        assert_eq!((mode(&dir), mode(&f)), (0o700, 0o600));
        narrow_if_exists(&dir.join("missing"), FILE_MODE).unwrap();
    }
}
