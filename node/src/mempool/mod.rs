//! The mempool: transactions waiting for a block, bounded in count and bytes, ordered per
//! account by nonce.
//!
//! # Admission ([`Mempool::admit`])
//! A transaction is admitted only if the ledger would authenticate it in the next block, as
//! far as the mempool can tell, so a block built from the mempool holds no transaction that is
//! rejected for its envelope. The checks run cheapest first, the signature last, so junk costs
//! little: size (`TX_BYTES_MAX`), canonical decoding, chain id, expiry (`expiry_height` at least
//! the next height), duplicate id, signer a member and not revoked, not frozen, nonce not below
//! the signer's next nonce and at most `nonce_ahead_max` beyond it, no other transaction pending
//! for the same (signer, nonce), the signer's share (`account_txs_max`), room in the whole
//! mempool (`txs_max`, `bytes_max`), and the signature under the one signature rule
//! (`volt_proto::sig::verify`, checked once: a block later verifies it again, in block order).
//!
//! There is no replace-by-fee (Volt has no fees): a different transaction for a pending
//! (signer, nonce) is refused with [`Refusal::NoncePending`]; the first one stays until it is
//! included, expires or goes stale.
//!
//! # Selection ([`Mempool::select`])
//! Per account, only the run of nonces contiguous from the signer's next nonce is offered (the
//! transactions of unfinalized ancestor blocks, named in `exclude`, count as used), so a block
//! never carries a nonce the ledger would reject as skipped. Across accounts the oldest waiting
//! transaction goes first (first come, first served), until the count or byte limit of the
//! block is reached. Arrival order is kept, rather than one transaction per account per round,
//! because signers depend on each other: an operator registers a battery and an issuer then
//! puts it in a class, and a round-robin would put the second before the first. A busy account
//! cannot crowd out the others for long: its share of the mempool is capped.
//!
//! # Eviction ([`Mempool::on_finalized`])
//! After a finalized block the mempool drops the block's transactions and whatever the new state
//! made stale: a nonce now used, an expiry passed, a signer no longer a member. A frozen signer's
//! transactions wait (the freeze may be lifted) but are not selected; they still count against
//! the signer's share and expire like any other.
//!
//! # Bounds
//! At most `txs_max` transactions and `bytes_max` bytes; per account at most `account_txs_max`.
//! The account index holds only accounts with a waiting transaction. A full mempool refuses
//! with a resource-exhausted [`Refusal`] and never grows.

mod ledger;
mod refusal;
#[cfg(test)]
mod tests;

pub use ledger::{
    Ledger, MEMPOOL_ACCOUNT_TXS_MAX, MEMPOOL_BYTES_MAX, MEMPOOL_NONCE_AHEAD_MAX, MEMPOOL_TXS_MAX,
    MempoolLimits, SignerView, StateLedger,
};
pub use refusal::Refusal;

/// Furthest ahead (in blocks after the next one) a transaction's expiry may be: a transaction
/// that waits behind a nonce gap is evicted when it expires, so no slot is held for ever. The
/// set-up and load transactions of the pilot expire within 10,000 blocks.
pub const EXPIRY_HORIZON_BLOCKS_MAX: u64 = 100_000;

use std::collections::{BTreeMap, BTreeSet};
use volt_proto::sig::{self, PublicKey};
use volt_proto::{AccountId, Hash, Height, Nonce, SignedTx, TX_BYTES_MAX, codec};

/// One waiting transaction.
struct Entry {
    tx: SignedTx,
    /// Its canonical encoding's length.
    size: usize,
    /// Arrival order.
    seq: u64,
}

/// One signer's waiting transactions.
struct Queue {
    nonces: BTreeMap<Nonce, Hash>,
    /// The arrival order of its oldest waiting transaction (its key in `Mempool::by_age`).
    oldest: u64,
}

/// Pending transactions, admission-checked.
pub struct Mempool {
    limits: MempoolLimits,
    txs: BTreeMap<Hash, Entry>,
    accounts: BTreeMap<AccountId, Queue>,
    /// Accounts by their oldest waiting transaction.
    by_age: BTreeSet<(u64, AccountId)>,
    bytes: usize,
    seq: u64,
}

/// The height of the block after `ledger`'s latest.
fn next_height(ledger: &impl Ledger) -> Height {
    Height(ledger.height().0.saturating_add(1))
}

impl Mempool {
    /// An empty mempool with these bounds.
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            txs: BTreeMap::new(),
            accounts: BTreeMap::new(),
            by_age: BTreeSet::new(),
            bytes: 0,
            seq: 0,
        }
    }

    /// Its bounds.
    pub fn limits(&self) -> &MempoolLimits {
        &self.limits
    }

    /// Waiting transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Canonical-encoding bytes of the waiting transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True if transaction `id` waits.
    pub fn contains(&self, id: &Hash) -> bool {
        self.txs.contains_key(id)
    }

    /// Checks the transaction encoded in `bytes` against `ledger` (its latest applied state) and
    /// admits it, or says why not. See the module documentation for the checks.
    pub fn admit(&mut self, bytes: &[u8], ledger: &impl Ledger) -> Result<Hash, Refusal> {
        if bytes.len() > TX_BYTES_MAX {
            return Err(Refusal::TooLarge { bytes: bytes.len(), max: TX_BYTES_MAX });
        }
        let tx: SignedTx = codec::decode(bytes, TX_BYTES_MAX).map_err(Refusal::Malformed)?;
        let checked = self.check(&tx, bytes.len(), ledger);
        // A full mempool still takes a transaction that is ready (next in its signer's run) by
        // evicting transactions that wait behind a nonce gap: parked gap transactions can
        // never lock out transactions that could go into the next block.
        let ready = match checked {
            Err(Refusal::MempoolFull { .. }) if self.is_ready(&tx, ledger) => true,
            Err(refusal) => return Err(refusal),
            Ok(_) => false,
        };
        let key = PublicKey::from_account(tx.body.signer).map_err(Refusal::BadSignature)?;
        sig::verify(&key, &tx.body.signing_message(), &tx.signature)
            .map_err(Refusal::BadSignature)?;
        let id = if ready {
            self.evict_gap_txs(bytes.len(), ledger);
            self.check(&tx, bytes.len(), ledger)?
        } else {
            tx.id()
        };
        self.insert(id, tx, bytes.len());
        Ok(id)
    }

    /// The first nonce of `account` not covered by its run of waiting transactions contiguous
    /// from the ledger's next nonce.
    fn run_end(&self, account: AccountId, ledger: &impl Ledger) -> Option<Nonce> {
        let mut next = ledger.signer(account)?.next_nonce;
        if let Some(queue) = self.accounts.get(&account) {
            for nonce in queue.nonces.range(next..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next = Nonce(next.0.saturating_add(1));
            }
        }
        Some(next)
    }

    /// True if `tx` would extend its signer's ready run (it could go into the next blocks).
    fn is_ready(&self, tx: &SignedTx, ledger: &impl Ledger) -> bool {
        self.run_end(tx.body.signer, ledger) == Some(tx.body.nonce)
    }

    /// Evicts waiting transactions that sit behind a nonce gap, newest first, until one of
    /// `size` bytes fits. Runs only when the mempool is full: O(accounts) per eviction.
    fn evict_gap_txs(&mut self, size: usize, ledger: &impl Ledger) {
        let MempoolLimits { txs_max, bytes_max, .. } = self.limits;
        while self.txs.len() >= txs_max || self.bytes.saturating_add(size) > bytes_max {
            let mut newest: Option<(u64, Hash)> = None;
            for (account, queue) in &self.accounts {
                let Some(end) = self.run_end(*account, ledger) else { continue };
                for id in queue.nonces.range(end..).map(|(_, id)| id) {
                    let seq = self.txs.get(id).map_or(0, |e| e.seq);
                    if newest.is_none_or(|(s, _)| seq > s) {
                        newest = Some((seq, *id));
                    }
                }
            }
            let Some((_, id)) = newest else { return };
            self.remove(&id);
        }
    }

    /// Every admission check but the signature's; returns the id.
    fn check(&self, tx: &SignedTx, size: usize, ledger: &impl Ledger) -> Result<Hash, Refusal> {
        let body = &tx.body;
        if &body.chain_id != ledger.chain_id() {
            let expected = ledger.chain_id().clone();
            return Err(Refusal::WrongChain { expected, got: body.chain_id.clone() });
        }
        let next_height = next_height(ledger);
        if body.expiry_height < next_height {
            return Err(Refusal::Expired { expiry_height: body.expiry_height, next_height });
        }
        if body.expiry_height.0 - next_height.0 > EXPIRY_HORIZON_BLOCKS_MAX {
            let (expiry_height, max) = (body.expiry_height, EXPIRY_HORIZON_BLOCKS_MAX);
            return Err(Refusal::ExpiryTooFar { expiry_height, next_height, max });
        }
        let id = tx.id();
        if self.txs.contains_key(&id) {
            return Err(Refusal::Duplicate(id));
        }
        let account = body.signer;
        let signer = match ledger.signer(account) {
            Some(view) if !view.revoked => view,
            view => return Err(Refusal::UnknownSigner { account, revoked: view.is_some() }),
        };
        if signer.frozen {
            return Err(Refusal::Frozen(account));
        }
        let (nonce, next) = (body.nonce, signer.next_nonce);
        if nonce < next {
            return Err(Refusal::NonceReplayed { nonce, next });
        }
        let max = self.limits.nonce_ahead_max;
        if nonce.0 - next.0 > max {
            return Err(Refusal::NonceTooFarAhead { nonce, next, max });
        }
        let queue = self.accounts.get(&account);
        if let Some(&pending) = queue.and_then(|q| q.nonces.get(&nonce)) {
            return Err(Refusal::NoncePending { nonce, pending });
        }
        let max = self.limits.account_txs_max;
        if queue.map_or(0, |q| q.nonces.len()) >= max {
            return Err(Refusal::AccountQueueFull { account, max });
        }
        let MempoolLimits { txs_max, bytes_max, .. } = self.limits;
        if self.txs.len() >= txs_max || self.bytes.saturating_add(size) > bytes_max {
            let (txs, bytes, tx_bytes) = (self.txs.len(), self.bytes, size);
            return Err(Refusal::MempoolFull { txs, txs_max, bytes, tx_bytes, bytes_max });
        }
        Ok(id)
    }

    fn insert(&mut self, id: Hash, tx: SignedTx, size: usize) {
        let (account, nonce) = (tx.body.signer, tx.body.nonce);
        let seq = self.seq;
        self.seq += 1;
        let queue = self.accounts.entry(account).or_insert_with(|| {
            self.by_age.insert((seq, account));
            Queue { nonces: BTreeMap::new(), oldest: seq }
        });
        queue.nonces.insert(nonce, id);
        self.txs.insert(id, Entry { tx, size, seq });
        self.bytes += size;
        assert!(
            self.txs.len() <= self.limits.txs_max && self.bytes <= self.limits.bytes_max,
            "the mempool grew past its limits"
        );
    }

    /// Removes transaction `id` if it waits.
    fn remove(&mut self, id: &Hash) -> Option<SignedTx> {
        let entry = self.txs.remove(id)?;
        self.bytes -= entry.size;
        let account = entry.tx.body.signer;
        let Some(queue) = self.accounts.get_mut(&account) else {
            panic!("waiting transaction {id} has no account queue");
        };
        queue.nonces.remove(&entry.tx.body.nonce);
        if queue.oldest == entry.seq {
            self.by_age.remove(&(queue.oldest, account));
            let oldest = queue.nonces.values().filter_map(|id| self.txs.get(id)).map(|e| e.seq);
            match oldest.min() {
                Some(seq) => {
                    queue.oldest = seq;
                    self.by_age.insert((seq, account));
                }
                None => {
                    self.accounts.remove(&account);
                }
            }
        }
        Some(entry.tx)
    }

    /// Transactions for a block on a parent whose unfinalized ancestors (after `ledger`'s
    /// state) hold the transactions `exclude`: per account in nonce order, only the run
    /// contiguous from the signer's next nonce, oldest waiting transaction first, at most
    /// `txs_max` transactions and `bytes_max` canonical bytes.
    pub fn select(
        &self,
        exclude: &BTreeSet<Hash>,
        txs_max: usize,
        bytes_max: usize,
        ledger: &impl Ledger,
    ) -> Vec<SignedTx> {
        let next_height = next_height(ledger);
        let mut runs = Vec::new();
        for (_, account) in &self.by_age {
            let Some(view) = ledger.signer(*account) else { continue };
            if view.revoked || view.frozen {
                continue;
            }
            let run = self.run(*account, view.next_nonce, exclude, next_height, txs_max);
            if !run.is_empty() {
                runs.push(run);
            }
        }
        oldest_first(&runs, txs_max, bytes_max)
    }

    /// `account`'s waiting transactions with nonces contiguous from `next`, skipping (but
    /// counting) those in `exclude`, stopping before a transaction expired at `next_height`
    /// (it would be rejected without using its nonce, so the rest would be skipped nonces).
    fn run(
        &self,
        account: AccountId,
        next: Nonce,
        exclude: &BTreeSet<Hash>,
        next_height: Height,
        txs_max: usize,
    ) -> Vec<&Entry> {
        let mut run = Vec::new();
        let Some(queue) = self.accounts.get(&account) else {
            return run;
        };
        let mut nonce = next;
        while run.len() < txs_max {
            let Some(id) = queue.nonces.get(&nonce) else { break };
            if !exclude.contains(id) {
                let Some(entry) = self.txs.get(id) else { break };
                if entry.tx.body.expiry_height < next_height {
                    break;
                }
                run.push(entry);
            }
            let Some(after) = nonce.checked_next() else { break };
            nonce = after;
        }
        run
    }

    /// After a finalized block: drops its transactions `ids` and whatever `ledger` (the state
    /// after it) made stale. Returns the stale transactions dropped (not those of the block),
    /// each with why, so their submitters can be told.
    pub fn on_finalized(&mut self, ids: &[Hash], ledger: &impl Ledger) -> Vec<(Hash, Refusal)> {
        for id in ids {
            self.remove(id);
        }
        let next_height = next_height(ledger);
        let mut stale = Vec::new();
        for (&account, queue) in &self.accounts {
            let view = ledger.signer(account);
            for (&nonce, id) in &queue.nonces {
                let why = match view {
                    None => Some(Refusal::UnknownSigner { account, revoked: false }),
                    Some(v) if v.revoked => Some(Refusal::UnknownSigner { account, revoked: true }),
                    Some(v) if nonce < v.next_nonce => {
                        Some(Refusal::NonceReplayed { nonce, next: v.next_nonce })
                    }
                    Some(_) => self.txs.get(id).map(|e| e.tx.body.expiry_height).and_then(
                        |expiry_height| {
                            (expiry_height < next_height)
                                .then_some(Refusal::Expired { expiry_height, next_height })
                        },
                    ),
                };
                if let Some(why) = why {
                    stale.push((*id, why));
                }
            }
        }
        for (id, _) in &stale {
            self.remove(id);
        }
        stale
    }
}

/// Merges the runs oldest transaction first: each step takes the run whose next transaction
/// arrived earliest, until `txs_max` or `bytes_max` is reached. A run whose next transaction
/// does not fit in the bytes left stops there (its later nonces would be skipped ones); the
/// others go on.
fn oldest_first(runs: &[Vec<&Entry>], txs_max: usize, bytes_max: usize) -> Vec<SignedTx> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut taken = vec![0usize; runs.len()];
    let mut heads: BTreeSet<(u64, usize)> =
        runs.iter().enumerate().filter_map(|(i, run)| Some((run.first()?.seq, i))).collect();
    while let Some((_, i)) = heads.pop_first() {
        if out.len() >= txs_max {
            break;
        }
        let Some(entry) = runs[i].get(taken[i]) else { continue };
        if bytes.saturating_add(entry.size) > bytes_max {
            continue;
        }
        bytes += entry.size;
        out.push(entry.tx.clone());
        taken[i] += 1;
        if let Some(next) = runs[i].get(taken[i]) {
            heads.insert((next.seq, i));
        }
    }
    out
}
