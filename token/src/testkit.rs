//! A small harness for tests, benchmarks and simulations: named test keys, automatic nonces,
//! one-call blocks. Keys come from [`Keypair::for_testing`], so never use this for real funds.

use crate::{BlockContext, BlockError, BlockResult, Genesis, GenesisMember, MemStore, State};
use std::collections::BTreeMap;
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Call, ChainId, Height, Nonce, Receipt, Role, SignedTx, Symbol,
    Timestamp, TxBody,
};

/// Genesis time of test worlds: 2026-01-01T00:00:00Z in milliseconds.
pub const GENESIS_TIME: Timestamp = Timestamp(1_767_225_600_000);
/// Identity expiry of test members: far in the future.
pub const FAR_FUTURE: Timestamp = Timestamp(4_102_444_800_000);
/// Milliseconds between test blocks.
pub const BLOCK_INTERVAL_MS: u64 = 1_000;

/// The deterministic key for a test name.
pub fn key(name: &str) -> Keypair {
    Keypair::for_testing(&format!("volt-test/{name}"))
}

/// The account for a test name.
pub fn account(name: &str) -> AccountId {
    key(name).account()
}

/// A symbol from a literal (test use).
pub fn sym(text: &str) -> Symbol {
    match Symbol::new(text) {
        Ok(symbol) => symbol,
        Err(error) => panic!("bad test symbol {text:?}: {error}"),
    }
}

/// The HKD cash asset.
pub fn hkd() -> Asset {
    Asset::Cash(sym("HKD"))
}

/// A test ledger with named members and automatic nonces.
pub struct World {
    /// The ledger.
    pub state: State<MemStore>,
    /// The chain id.
    pub chain_id: ChainId,
    /// The next block's context.
    pub next: BlockContext,
    nonces: BTreeMap<AccountId, u64>,
}

impl World {
    /// A world with `admin`, `issuer` (HKD issuer), `operator`, `auditor`, `station` and the
    /// given investors.
    pub fn new(investors: &[&str]) -> World {
        let mut members = vec![
            ("admin", Role::Admin),
            ("issuer", Role::Issuer),
            ("operator", Role::Operator),
            ("auditor", Role::Auditor),
            ("station", Role::Station),
        ];
        members.extend(investors.iter().map(|name| (*name, Role::Investor)));
        let genesis = Genesis {
            chain_id: chain_id(),
            time: GENESIS_TIME,
            members: members
                .iter()
                .map(|(name, role)| GenesisMember {
                    account: account(name),
                    role: *role,
                    identity_expiry: FAR_FUTURE,
                })
                .collect(),
            currencies: vec![(sym("HKD"), account("issuer"))],
        };
        World::from_genesis(&genesis)
    }

    /// A world from any genesis.
    pub fn from_genesis(genesis: &Genesis) -> World {
        let state = match State::genesis(MemStore::new(), genesis) {
            Ok(state) => state,
            Err(error) => panic!("test genesis refused: {error}"),
        };
        World {
            state,
            chain_id: genesis.chain_id.clone(),
            next: BlockContext {
                height: Height(1),
                time: Timestamp(genesis.time.0 + BLOCK_INTERVAL_MS),
            },
            nonces: BTreeMap::new(),
        }
    }

    /// A body from `name` with its next nonce (consumed), valid for 100 blocks.
    pub fn body(&mut self, name: &str, call: Call) -> TxBody {
        let signer = account(name);
        let nonce = self.nonces.entry(signer).or_insert(0);
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer,
            nonce: Nonce(*nonce),
            expiry_height: Height(self.next.height.0 + 100),
            call,
        };
        *nonce += 1;
        body
    }

    /// A signed transaction from `name`.
    pub fn tx(&mut self, name: &str, call: Call) -> SignedTx {
        self.body(name, call).sign(&key(name))
    }

    /// Forgets a nonce use (after a transaction that was rejected before using it).
    pub fn unuse_nonce(&mut self, name: &str) {
        if let Some(nonce) = self.nonces.get_mut(&account(name)) {
            *nonce = nonce.saturating_sub(1);
        }
    }

    /// Applies a block of transactions at the next height.
    pub fn try_block(&mut self, txs: &[SignedTx]) -> Result<BlockResult, BlockError> {
        let result = self.state.apply_block(self.next, txs)?;
        self.next.height = Height(self.next.height.0 + 1);
        self.next.time = Timestamp(self.next.time.0 + BLOCK_INTERVAL_MS);
        Ok(result)
    }

    /// Applies a block and panics on a block-level error (test use).
    pub fn block(&mut self, txs: &[SignedTx]) -> BlockResult {
        match self.try_block(txs) {
            Ok(result) => result,
            Err(error) => panic!("block refused: {error}"),
        }
    }

    /// Applies one call from `name` in its own block and returns the receipt.
    pub fn submit(&mut self, name: &str, call: Call) -> Receipt {
        let tx = self.tx(name, call);
        let mut result = self.block(&[tx]);
        match result.receipts.pop() {
            Some(receipt) => receipt,
            None => panic!("a block of one transaction returned no receipt"),
        }
    }

    /// The balance of `asset` held by `name`.
    pub fn balance(&self, asset: &Asset, name: &str) -> Amount {
        match self.state.balance(asset, account(name)) {
            Ok(amount) => amount,
            Err(error) => panic!("balance read failed: {error}"),
        }
    }
}

/// The chain id of test worlds.
pub fn chain_id() -> ChainId {
    match ChainId::new("volt-test") {
        Ok(id) => id,
        Err(error) => panic!("{error}"),
    }
}
