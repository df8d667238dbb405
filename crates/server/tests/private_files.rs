//! The chat store's directory is 0700 and its database, WAL and shared-memory files
//! 0600, also when they existed with looser modes.

use confab_server::store::ChatStore;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_data_dir_and_the_chat_database_are_private() {
    let root = std::env::temp_dir().join(format!("confab-private-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("data");
    // `close` waits for the store thread, so no file changes under the checks below.
    let store = ChatStore::open(&dir, Duration::from_secs(86_400)).unwrap();
    store.close().await;
    assert_eq!(mode(&dir), 0o700, "data dir");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("confab.db")), "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }

    // Files an older confab left readable are narrowed at the next start.
    for f in &files {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wal = dir.join("confab.db-wal");
    std::fs::write(&wal, b"").unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = ChatStore::open(&dir, Duration::from_secs(86_400)).unwrap();
    store.close().await;
    assert_eq!(mode(&dir), 0o700);
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let _ = std::fs::remove_dir_all(&root);
}
