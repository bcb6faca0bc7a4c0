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
        World::from_genesis(&genesis(&members))
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

/// A test genesis: the named members with their roles (identities valid far into the future)
/// and HKD issued by the member named `issuer`.
pub fn genesis<N: AsRef<str>>(members: &[(N, Role)]) -> Genesis {
    Genesis {
        chain_id: chain_id(),
        time: GENESIS_TIME,
        members: members
            .iter()
            .map(|(name, role)| GenesisMember {
                account: account(name.as_ref()),
                role: *role,
                identity_expiry: FAR_FUTURE,
            })
            .collect(),
        currencies: vec![(sym("HKD"), account("issuer"))],
    }
}

/// The chain id of test worlds.
pub fn chain_id() -> ChainId {
    match ChainId::new("volt-test") {
        Ok(id) => id,
        Err(error) => panic!("{error}"),
    }
}

/// A serial from a literal (test use).
pub fn serial(text: &str) -> volt_proto::Serial {
    match volt_proto::Serial::new(text) {
        Ok(serial) => serial,
        Err(error) => panic!("bad test serial {text:?}: {error}"),
    }
}

/// Text from a literal (test use).
pub fn text(value: &str) -> volt_proto::Text {
    match volt_proto::Text::new(value) {
        Ok(text) => text,
        Err(error) => panic!("bad test text: {error}"),
    }
}

/// A plausible passport for a 52 kWh LFP swap pack (CATL #20 class).
pub fn passport(serial: &str) -> volt_proto::Passport {
    volt_proto::Passport {
        product_id: text(&format!("urn:volt:battery:{serial}")),
        category: volt_proto::BatteryCategory::Ev,
        chemistry: text("LFP"),
        manufacturer: text("Contemporary Amperex Technology"),
        manufacturing_date: Timestamp(1_735_689_600_000),
        manufacturing_place: text("Ningde, CN"),
        rated_capacity_mah: 162_000_000,
        rated_energy_wh: 52_000,
        nominal_voltage_mv: 320_000,
        expected_lifetime_cycles: 3_000,
        carbon_footprint_g_per_kwh: 61_000,
        document_hash: volt_proto::Hash::of(serial.as_bytes()),
        document_uri: text(&format!("https://passport.example/{serial}")),
    }
}

/// A battery reading with the given serial and health.
pub fn reading(serial_text: &str, soh_permille: u16, cycles: u32) -> volt_proto::BatteryReading {
    volt_proto::BatteryReading {
        serial: serial(serial_text),
        soc_permille: 900,
        soh_permille,
        cycles,
    }
}

/// A swap attestation with typical readings (full battery in, tired battery out).
pub fn swap(
    station: &str,
    counter: u64,
    vehicle: &str,
    battery_out: &str,
    battery_in: &str,
    fee: u128,
) -> volt_proto::SwapAttestation {
    volt_proto::SwapAttestation {
        station: sym(station),
        counter,
        station_time: Timestamp(GENESIS_TIME.0 + counter * 60_000),
        vehicle: sym(vehicle),
        battery_out: volt_proto::BatteryReading {
            soc_permille: 120,
            ..reading(battery_out, 990, 10)
        },
        battery_in: volt_proto::BatteryReading {
            soc_permille: 980,
            ..reading(battery_in, 990, 10)
        },
        energy_wh: 40_000,
        fee: Amount(fee),
        currency: sym("HKD"),
    }
}

impl World {
    /// The signature of the test key `signer` over an attestation.
    pub fn attest(
        &self,
        signer: &str,
        attestation: &volt_proto::Attestation,
    ) -> volt_proto::Signature {
        key(signer).sign_raw(&attestation.signing_message(&self.chain_id))
    }

    /// A `SubmitAttestation` call for a swap signed by the test key `controller`.
    pub fn swap_call(&self, controller: &str, swap: volt_proto::SwapAttestation) -> Call {
        let attestation = volt_proto::Attestation::Swap(swap);
        let signature = self.attest(controller, &attestation);
        Call::SubmitAttestation { attestation, signature }
    }

    /// The signature of the test key `lessee` over lease terms.
    pub fn lessee_signs(
        &self,
        lessee: &str,
        terms: &volt_proto::LeaseTerms,
    ) -> volt_proto::Signature {
        key(lessee).sign_raw(&terms.signing_message(&self.chain_id))
    }

    /// Applies `call` from `name`, panicking unless it applied (set-up steps in tests).
    pub fn ok(&mut self, name: &str, call: Call) {
        let receipt = self.submit(name, call);
        assert!(
            receipt.outcome == volt_proto::TxOutcome::Applied,
            "set-up call from {name} did not apply: {:?}",
            receipt.outcome
        );
    }
}

/// A deterministic generator (splitmix64) for tests, benchmarks and load drivers: the same seed
/// draws the same sequence on every machine, with no random source.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    #[allow(clippy::should_implement_trait)] // not an iterator: it never ends
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// One of `items`, or `None` if there are none.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() { None } else { Some(items[self.below(items.len())].clone()) }
    }
}
