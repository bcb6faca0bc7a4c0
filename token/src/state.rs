//! The ledger state and block application.

use crate::calls;
use crate::exec::{BlockContext, Cx, Fail, Pending, decode_value};
use crate::keys::{Currency, Duty, Holding, Key, Member, Meta, ShareClass};
use crate::store::{StorageError, Store, Write};
use crate::tree::{Proof, StateTree};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use volt_proto::sig::{self, BatchItem, Domain, PublicKey};
use volt_proto::{
    AccountId, Amount, Asset, ChainId, ErrorCode, Hash, Height, Nonce, Receipt, Role, SignedTx,
    Symbol, Timestamp, TxOutcome, codec,
};

/// Most transactions one block may carry.
pub const BLOCK_TXS_MAX: usize = 20_000;

/// Most decompressed keys kept in memory; the cache is dropped and rebuilt when it fills.
const KEY_CACHE_ENTRIES_MAX: usize = 1 << 20;

/// Why a whole block could not be applied. The state is unchanged.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// Blocks apply in height order, one at a time.
    #[error("block height {got} does not follow the last applied height {last}")]
    WrongHeight {
        /// The last applied height.
        last: Height,
        /// The block's height.
        got: Height,
    },
    /// Block time never goes backwards.
    #[error("block time {got} is before the last block time {last}")]
    TimeWentBack {
        /// The last block's time.
        last: Timestamp,
        /// This block's time.
        got: Timestamp,
    },
    /// Too many transactions.
    #[error("block carries {count} transactions; at most {max} are allowed")]
    TooManyTxs {
        /// Transactions carried.
        count: usize,
        /// Transactions allowed.
        max: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a genesis could not be built.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum GenesisError {
    /// A member key is malformed or weak.
    #[error("member {0} has an invalid or weak key")]
    BadKey(AccountId),
    /// An account is listed twice.
    #[error("member {0} is listed twice")]
    DuplicateMember(AccountId),
    /// A currency is listed twice.
    #[error("currency {0} is listed twice")]
    DuplicateCurrency(Symbol),
    /// A currency's issuer is not a member with the issuer role.
    #[error(
        "currency {currency} names issuer {issuer}, which is not a member with the issuer role"
    )]
    BadIssuer {
        /// The currency.
        currency: Symbol,
        /// The named issuer.
        issuer: AccountId,
    },
    /// The store is not empty or failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The store already holds a chain.
    #[error("the store already holds a chain")]
    NotEmpty,
}

/// A member at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GenesisMember {
    /// The key.
    pub account: AccountId,
    /// The role.
    pub role: Role,
    /// When its identity verification lapses.
    pub identity_expiry: Timestamp,
}

/// The starting state of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Genesis {
    /// The chain id every transaction must carry.
    pub chain_id: ChainId,
    /// Genesis time.
    pub time: Timestamp,
    /// Initial members (at least one admin, in practice).
    pub members: Vec<GenesisMember>,
    /// Initial currencies and their issuers.
    pub currencies: Vec<(Symbol, AccountId)>,
}

/// What applying a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockResult {
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// The state root after the block.
    pub state_root: Hash,
}

/// The ledger: a deterministic state machine over a [`Store`], with an authenticated tree.
pub struct State<S: Store> {
    store: S,
    tree: StateTree,
    chain_id: ChainId,
    keys: BTreeMap<AccountId, PublicKey>,
}

impl<S: Store> State<S> {
    /// Writes the genesis state into an empty store.
    pub fn genesis(mut store: S, genesis: &Genesis) -> Result<State<S>, GenesisError> {
        if !store.entries()?.is_empty() {
            return Err(GenesisError::NotEmpty);
        }
        let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let mut put = |key: Key, value: Vec<u8>| writes.insert(key.encode(), Some(value));
        let meta =
            Meta { chain_id: genesis.chain_id.clone(), height: Height(0), time: genesis.time };
        put(Key::Meta, codec::encode(&meta));
        let mut members: BTreeMap<AccountId, Member> = BTreeMap::new();
        for m in &genesis.members {
            PublicKey::from_account(m.account).map_err(|_| GenesisError::BadKey(m.account))?;
            let member = Member {
                role: m.role,
                identity_expiry: m.identity_expiry,
                frozen: false,
                revoked: false,
                next_nonce: Nonce(0),
                assets: 0,
                duties: 0,
                recovered_to: None,
            };
            if members.insert(m.account, member).is_some() {
                return Err(GenesisError::DuplicateMember(m.account));
            }
        }
        let mut seen = BTreeSet::new();
        for (currency, issuer) in &genesis.currencies {
            if !seen.insert(currency.clone()) {
                return Err(GenesisError::DuplicateCurrency(currency.clone()));
            }
            let Some(member) = members.get_mut(issuer).filter(|m| m.role == Role::Issuer) else {
                let (currency, issuer) = (currency.clone(), *issuer);
                return Err(GenesisError::BadIssuer { currency, issuer });
            };
            member.duties += 1;
            let duty = Duty::CurrencyIssuer(currency.clone());
            put(Key::DutyOf(*issuer, duty), codec::encode(&()));
            let record = Currency { issuer: *issuer, minted: Amount::ZERO, burned: Amount::ZERO };
            put(Key::Currency(currency.clone()), codec::encode(&record));
        }
        for (account, member) in members {
            put(Key::Member(account), codec::encode(&member));
        }
        let writes: Vec<Write> = writes.into_iter().collect();
        store.apply(&writes)?;
        let mut tree = StateTree::new();
        tree.apply(writes);
        Ok(State { store, tree, chain_id: genesis.chain_id.clone(), keys: BTreeMap::new() })
    }

    /// Opens a store that already holds a chain, rebuilding the tree from its entries.
    pub fn open(store: S) -> Result<State<S>, StorageError> {
        let entries = store.entries()?;
        let meta_key = Key::Meta.encode();
        let Some((_, meta)) = entries.iter().find(|(k, _)| *k == meta_key) else {
            return Err(StorageError::Corrupt {
                key: "Meta".into(),
                reason: "the store holds no chain".into(),
            });
        };
        let meta: Meta = decode_stored(&meta_key, meta)?;
        let mut tree = StateTree::new();
        tree.apply(entries.into_iter().map(|(k, v)| (k, Some(v))));
        Ok(State { store, tree, chain_id: meta.chain_id, keys: BTreeMap::new() })
    }

    /// Opens a store that already holds a chain with a tree the caller rebuilt elsewhere (the
    /// node's persisted tree snapshot). The caller must have checked `tree.root()` against a
    /// root it trusts for the store's height; nothing here re-reads the entries.
    pub fn open_with_tree(store: S, tree: StateTree) -> Result<State<S>, StorageError> {
        let meta_key = Key::Meta.encode();
        let Some(meta) = store.get(&meta_key)? else {
            return Err(StorageError::Corrupt {
                key: "Meta".into(),
                reason: "the store holds no chain".into(),
            });
        };
        let meta: Meta = decode_stored(&meta_key, &meta)?;
        Ok(State { store, tree, chain_id: meta.chain_id, keys: BTreeMap::new() })
    }

    /// Applies one block: every transaction in order, each atomically, then commits all writes
    /// and the new state root. On `Err` nothing is written.
    pub fn apply_block(
        &mut self,
        ctx: BlockContext,
        txs: &[SignedTx],
    ) -> Result<BlockResult, BlockError> {
        if txs.len() > BLOCK_TXS_MAX {
            return Err(BlockError::TooManyTxs { count: txs.len(), max: BLOCK_TXS_MAX });
        }
        let mut meta = self.meta()?;
        if meta.height.checked_next() != Some(ctx.height) {
            return Err(BlockError::WrongHeight { last: meta.height, got: ctx.height });
        }
        if ctx.time < meta.time {
            return Err(BlockError::TimeWentBack { last: meta.time, got: ctx.time });
        }
        let prepared = self.prepare(txs);
        let mut block = Pending::new();
        let mut receipts = Vec::with_capacity(txs.len());
        for (tx, prep) in txs.iter().zip(&prepared) {
            let outcome = self.apply_tx(&mut block, ctx, tx, prep)?;
            receipts.push(Receipt { tx_id: prep.id, outcome });
        }
        meta.height = ctx.height;
        meta.time = ctx.time;
        block.insert(Key::Meta.encode(), Some(codec::encode(&meta)));
        let writes: Vec<Write> = block.into_iter().collect();
        self.store.apply(&writes)?;
        let state_root = self.tree.apply(writes);
        Ok(BlockResult { receipts, state_root })
    }

    /// Ids and signature verdicts for a block's transactions. The signatures are verified as
    /// one batch in block order, a set every node sees identically (see `volt_proto::sig`); if
    /// the batch fails, each is checked alone to find the bad ones. Both paths give the same
    /// verdict per signature.
    fn prepare(&mut self, txs: &[SignedTx]) -> Vec<Prepared> {
        let mut prepared = Vec::with_capacity(txs.len());
        let mut messages = Vec::with_capacity(txs.len());
        let mut keys = Vec::with_capacity(txs.len());
        for tx in txs {
            let body = codec::encode(&tx.body);
            prepared.push(Prepared { id: Hash::of(&body), signature_ok: false });
            messages.push(sig::signing_message(Domain::Tx, &tx.body.chain_id, &body));
            keys.push(self.public_key(tx.body.signer));
        }
        let items: Vec<(usize, BatchItem<'_>)> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let key = key.as_ref()?;
                Some((i, BatchItem { key, message: &messages[i], signature: &txs[i].signature }))
            })
            .collect();
        let batch: Vec<BatchItem<'_>> = items.iter().map(|(_, item)| *item).collect();
        let all_ok = sig::verify_batch(&batch).is_ok();
        for (i, item) in &items {
            prepared[*i].signature_ok =
                all_ok || sig::verify(item.key, item.message, item.signature).is_ok();
        }
        prepared
    }

    fn public_key(&mut self, account: AccountId) -> Option<PublicKey> {
        if let Some(key) = self.keys.get(&account) {
            return Some(*key);
        }
        let key = PublicKey::from_account(account).ok()?;
        if self.keys.len() >= KEY_CACHE_ENTRIES_MAX {
            self.keys.clear();
        }
        self.keys.insert(account, key);
        Some(key)
    }

    /// Authenticates one transaction, then runs its call atomically.
    fn apply_tx(
        &self,
        block: &mut Pending,
        ctx: BlockContext,
        tx: &SignedTx,
        prep: &Prepared,
    ) -> Result<TxOutcome, BlockError> {
        let body = &tx.body;
        let signer = body.signer;
        let reject = |code| Ok(TxOutcome::Rejected(code));
        if body.chain_id != self.chain_id {
            return reject(ErrorCode::WrongChain);
        }
        if !prep.signature_ok {
            return reject(ErrorCode::BadSignature);
        }
        if ctx.height > body.expiry_height {
            return reject(ErrorCode::Expired);
        }
        let cx = Cx::new(&self.store, block, ctx, &self.chain_id, signer);
        let member = match cx.get::<Member>(&Key::Member(signer)) {
            Ok(Some(member)) if !member.revoked => member,
            Ok(_) => return reject(ErrorCode::UnknownSigner),
            Err(fail) => return Err(storage_failure(fail)),
        };
        if body.nonce < member.next_nonce {
            return reject(ErrorCode::NonceReplayed);
        }
        if body.nonce > member.next_nonce {
            return reject(ErrorCode::NonceSkipped);
        }
        let mut cx = cx;
        let outcome = match calls::execute(&mut cx, &body.call).and_then(|done| {
            cx.check_sizes()?;
            Ok(done)
        }) {
            Ok(done) => {
                let writes = cx.into_writes();
                block.extend(writes);
                match done {
                    calls::Done::Applied => TxOutcome::Applied,
                    calls::Done::Disputed(code) => TxOutcome::Disputed(code),
                }
            }
            Err(Fail::Code(code)) => TxOutcome::Failed(code),
            Err(fail @ Fail::Storage(_)) => return Err(storage_failure(fail)),
        };
        // The nonce is used whether or not the call applied: an authenticated transaction can
        // never be replayed. The call may have changed the signer's record, so read it again.
        let key = Key::Member(signer).encode();
        let cx = Cx::new(&self.store, block, ctx, &self.chain_id, signer);
        let mut member = cx.get::<Member>(&Key::Member(signer)).map_err(storage_failure)?;
        if let Some(member) = member.as_mut() {
            member.next_nonce = Nonce(member.next_nonce.0.saturating_add(1));
            block.insert(key, Some(codec::encode(member)));
        }
        Ok(outcome)
    }

    // ----- queries -----

    /// The chain id.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The current state root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Chain-wide facts (last height and time).
    pub fn meta(&self) -> Result<Meta, StorageError> {
        self.record(&Key::Meta)?
            .ok_or_else(|| StorageError::Corrupt { key: "Meta".into(), reason: "missing".into() })
    }

    /// The last applied height.
    pub fn height(&self) -> Result<Height, StorageError> {
        Ok(self.meta()?.height)
    }

    /// A member record.
    pub fn member(&self, account: AccountId) -> Result<Option<Member>, StorageError> {
        self.record(&Key::Member(account))
    }

    /// The balance of `asset` held by `account`.
    pub fn balance(&self, asset: &Asset, account: AccountId) -> Result<Amount, StorageError> {
        let holding: Option<Holding> = self.record(&Key::Balance(asset.clone(), account))?;
        Ok(holding.map(|h| h.amount).unwrap_or_default())
    }

    /// A currency record.
    pub fn currency(&self, currency: &Symbol) -> Result<Option<Currency>, StorageError> {
        self.record(&Key::Currency(currency.clone()))
    }

    /// A share class record.
    pub fn class(&self, class: &Symbol) -> Result<Option<ShareClass>, StorageError> {
        self.record(&Key::Class(class.clone()))
    }

    /// The stored bytes under `key` and a proof of them (or of their absence) against
    /// [`State::root`].
    pub fn prove(&self, key: &Key) -> Result<(Option<Vec<u8>>, Proof), StorageError> {
        let bytes = key.encode();
        Ok((self.store.get(&bytes)?, self.tree.prove(&bytes)))
    }

    /// Every stored entry, in key order.
    pub fn entries(&self) -> Result<Vec<crate::store::Entry>, StorageError> {
        self.store.entries()
    }

    /// The authenticated tree (an O(1) clone of it is a consistent snapshot to serve reads
    /// and proofs from while the next block executes).
    pub fn tree(&self) -> &StateTree {
        &self.tree
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// A typed record.
    pub fn record<T: Serialize + DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, StorageError> {
        let bytes = key.encode();
        match self.store.get(&bytes)? {
            None => Ok(None),
            Some(value) => decode_stored(&bytes, &value).map(Some),
        }
    }
}

/// Per-transaction facts computed before the block runs.
struct Prepared {
    id: Hash,
    signature_ok: bool,
}

fn storage_failure(fail: Fail) -> BlockError {
    match fail {
        Fail::Storage(error) => BlockError::Storage(error),
        // Only storage failures reach here; a code is a programmer error in the caller.
        Fail::Code(code) => BlockError::Storage(StorageError::Io(format!(
            "unexpected refusal {code:?} outside a call"
        ))),
    }
}

fn decode_stored<T: Serialize + DeserializeOwned>(
    key: &[u8],
    value: &[u8],
) -> Result<T, StorageError> {
    decode_value(key, value).map_err(|fail| match fail {
        Fail::Storage(error) => error,
        Fail::Code(code) => StorageError::Io(format!("unexpected refusal {code:?}")),
    })
}
