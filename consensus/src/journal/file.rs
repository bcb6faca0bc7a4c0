//! The real journal disk: one plain file, `sync_data` for durability, rename for atomic rewrite,
//! a directory fsync whenever a name is created or replaced, and an exclusive lock so two
//! processes never write one journal (both would believe they hold the node's only record of
//! its votes).
//!
//! This is the only module of the crate that touches the file system; the core never calls it.

use super::JournalStorage;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// A journal file.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    file: File,
    /// `<journal>.lock`, exclusively locked while this storage lives (the journal file itself
    /// is replaced on rewrite, so it cannot carry the lock).
    _lock: File,
}

impl FileStorage {
    /// Opens (creating if absent) the journal at `path`. Fails with
    /// [`std::io::ErrorKind::WouldBlock`] if another process (or another `FileStorage`) holds
    /// it.
    pub fn open(path: &Path) -> std::io::Result<FileStorage> {
        let lock_path = path.with_extension("lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("journal {} is locked by another process", path.display()),
            ),
            std::fs::TryLockError::Error(e) => e,
        })?;
        let existed = path.exists();
        let file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        let storage = FileStorage { path: path.to_path_buf(), file, _lock: lock };
        if !existed {
            // The new name must survive a power loss before anything in it counts.
            storage.sync_dir()?;
        }
        Ok(storage)
    }

    fn sync_dir(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl JournalStorage for FileStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }

    fn replace(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // Write a sibling, make it durable, rename it over the journal, then make the rename
        // durable: a crash leaves either the old file or the new one, never a mix.
        let tmp = self.path.with_extension("rewrite");
        {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.sync_dir()?;
        self.file = OpenOptions::new().read(true).append(true).open(&self.path)?;
        Ok(())
    }
}
