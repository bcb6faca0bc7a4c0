//! Vote journal: framing, torn tails, corruption, the real file, and no double signing after a
//! restart.

// Test helpers panic on purpose: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_consensus::journal::{self, FileStorage, Journal, JournalError, MemoryStorage, Record};
use volt_consensus::types::{Epoch, Proposal, Round, SignedVote, View, Vote};
use volt_proto::{Hash, Signature};

fn records(count: u64) -> Vec<Record> {
    let mut out = vec![Record::Floor(View(0))];
    for v in 1..=count {
        out.push(Record::Entered(View(v)));
        let vote = if v % 2 == 0 {
            Vote::Nullify(Round { epoch: Epoch(0), view: View(v) })
        } else {
            Vote::Notarize(Proposal {
                epoch: Epoch(0),
                view: View(v),
                parent_view: View(v - 1),
                digest: Hash::of(&v.to_le_bytes()),
            })
        };
        out.push(Record::Vote(SignedVote { vote, signer: 2, signature: Signature([v as u8; 64]) }));
    }
    out
}

/// The journal bytes, one synced turn per record, and the end offset of every turn.
fn synced_bytes(records: &[Record]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = journal::frame::header(&[0; 16]).to_vec();
    let mut ends = Vec::new();
    for r in records {
        let frame = journal::frame(r).unwrap();
        bytes.extend(&frame);
        bytes.extend(journal::frame::commit(&frame));
        ends.push(bytes.len());
    }
    (bytes, ends)
}

#[test]
fn truncation_at_every_byte_offset_recovers_the_synced_prefix() {
    // Proves a journal cut anywhere replays exactly the records that fit whole, and is trimmed.
    let all = records(6);
    let (bytes, ends) = synced_bytes(&all);
    for cut in 0..=bytes.len() {
        let (journal, replay) = Journal::open(MemoryStorage::with_bytes(bytes[..cut].to_vec()))
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let whole = ends.iter().filter(|end| **end <= cut).count();
        assert_eq!(replay.records, all[..whole], "cut at {cut}");
        let magic = journal::HEADER_BYTES;
        let good = if whole > 0 {
            ends[whole - 1]
        } else if cut >= magic {
            magic
        } else {
            0
        };
        assert_eq!(replay.truncated_bytes, cut - good);
        let kept = journal.storage().durable().len();
        assert_eq!(kept, good.max(magic), "tail trimmed at {cut}");
    }
}

#[test]
fn zero_filled_tail_is_a_torn_tail() {
    // Proves a file extended with zeros (a crash after the size update) replays its records.
    let all = records(3);
    let (mut bytes, _) = synced_bytes(&all);
    bytes.extend([0u8; 100]);
    let (_, replay) = Journal::open(MemoryStorage::with_bytes(bytes)).unwrap();
    assert_eq!(replay.records, all);
    assert_eq!(replay.truncated_bytes, 100);
}

#[test]
fn flipped_byte_before_the_last_record_is_detected() {
    // Proves a bit flip anywhere before the last frame stops replay with a clear error, and a
    // flip in the last frame never yields a changed record.
    let all = records(5);
    let (bytes, ends) = synced_bytes(&all);
    let last_start = ends[ends.len() - 2];
    for at in 0..bytes.len() {
        for bit in [0u8, 3, 7] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            let result = Journal::open(MemoryStorage::with_bytes(damaged));
            if at < last_start {
                match result {
                    Err(JournalError::Corrupt { offset, .. }) => assert!(offset <= at),
                    other => panic!("flip at {at} bit {bit} not detected: {other:?}"),
                }
            } else if let Ok((_, replay)) = result {
                assert!(all.starts_with(&replay.records), "flip at {at} changed a record");
            }
        }
    }
}

#[test]
fn corrupt_error_names_the_offset_and_tells_what_to_do() {
    // Proves the operator gets an actionable message.
    let (mut bytes, _) = synced_bytes(&records(3));
    bytes[5] ^= 0xff;
    let error = Journal::open(MemoryStorage::with_bytes(bytes)).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("corrupt at byte 0"), "{text}");
    assert!(text.contains("refusing to start"), "{text}");
}

#[test]
fn unsynced_writes_may_be_lost_or_torn_but_synced_ones_survive() {
    // Proves the crash model: synced records always survive, unsynced ones at most in part.
    let all = records(4);
    for keep in 0..200 {
        let mut storage = MemoryStorage::new();
        {
            let (mut journal, _) = Journal::open(storage.clone()).unwrap();
            for r in &all[..5] {
                journal.append(r).unwrap();
            }
            journal.sync().unwrap();
            for r in &all[5..] {
                journal.append(r).unwrap();
            }
            storage = journal.into_storage();
        }
        storage.crash(keep);
        let (_, replay) = Journal::open(storage).unwrap();
        assert!(replay.records.len() >= 5, "keep {keep}");
        assert!(all.starts_with(&replay.records), "keep {keep}");
    }
}

#[test]
fn file_storage_survives_reopen_rewrite_and_torn_tail() {
    // Proves the real file: appended+synced records come back, a rewrite replaces them
    // atomically, and a torn tail on disk is trimmed.
    let dir = std::env::temp_dir().join(format!("volt-journal-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("votes.journal");
    let _ = std::fs::remove_file(&path);
    let all = records(3);
    {
        let (mut journal, replay) = Journal::open(FileStorage::open(&path).unwrap()).unwrap();
        assert!(replay.records.is_empty());
        for r in &all {
            journal.append(r).unwrap();
        }
        journal.sync().unwrap();
    }
    {
        let (mut journal, replay) = Journal::open(FileStorage::open(&path).unwrap()).unwrap();
        assert_eq!(replay.records, all);
        journal.rewrite(&all[3..]).unwrap();
        journal.append(&all[0]).unwrap();
        journal.sync().unwrap();
    }
    let mut expected = all[3..].to_vec();
    expected.push(all[0].clone());
    {
        let (_, replay) = Journal::open(FileStorage::open(&path).unwrap()).unwrap();
        assert_eq!(replay.records, expected);
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes.extend_from_slice(&journal::frame(&all[1]).unwrap()[..10]);
    std::fs::write(&path, &bytes).unwrap();
    {
        let (_, replay) = Journal::open(FileStorage::open(&path).unwrap()).unwrap();
        assert_eq!(replay.records, expected);
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, len);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hole_in_the_unsynced_tail_is_a_torn_tail_not_corruption() {
    // Proves a crash that kept a turn's last frame but lost a page in the middle of an earlier
    // frame of the same unsynced turn is read as a torn tail: the synced records survive.
    let all = records(4);
    let (first, rest) = all.split_at(3);
    let (mut j, _) = Journal::open(MemoryStorage::new()).unwrap();
    for r in first {
        j.append(r).unwrap();
    }
    j.sync().unwrap();
    let synced = j.storage().durable().len();
    let block = volt_consensus::types::Block {
        epoch: Epoch(0),
        view: View(9),
        height: volt_proto::Height(1),
        parent_view: View(0),
        parent: Hash::ZERO,
        payload: vec![7u8; 20_000],
    };
    j.append(&Record::Block(block)).unwrap();
    for r in rest {
        j.append(r).unwrap();
    }
    let mut storage = j.into_storage();
    let mut bytes = journal::JournalStorage::read_all(&mut storage).unwrap();
    // The disk lost the second 4 KiB page of the block's frame and kept everything else.
    let hole = synced + 4096..synced + 8192;
    bytes[hole].fill(0);
    let (_, replay) = Journal::open(MemoryStorage::with_bytes(bytes)).unwrap();
    assert_eq!(replay.records, first);
}

#[test]
fn two_processes_cannot_open_one_journal_file() {
    // Proves the file journal holds an exclusive lock: a second open of the same path fails.
    let dir = std::env::temp_dir().join(format!("volt-journal-lock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("votes.journal");
    let first = FileStorage::open(&path).unwrap();
    assert!(FileStorage::open(&path).is_err(), "a second open of a locked journal succeeded");
    drop(first);
    assert!(FileStorage::open(&path).is_ok(), "the lock outlived its holder");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_format_1_journal_is_replayed_and_upgraded() {
    // Proves a journal written before commit frames existed still replays, and is rewritten in
    // the committed format so later tears are judged by the new rule.
    let all = records(3);
    let mut bytes = Vec::new();
    for r in &all {
        bytes.extend(journal::frame(r).unwrap());
    }
    let (journal, replay) = Journal::open(MemoryStorage::with_bytes(bytes)).unwrap();
    assert_eq!(replay.records, all);
    assert!(journal.storage().durable().starts_with(&journal::MAGIC));
    let (_, again) = Journal::open(journal.into_storage()).unwrap();
    assert_eq!(again.records, all);
}
