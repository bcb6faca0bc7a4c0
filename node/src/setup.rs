//! From a [`GenesisDoc`] to the ledger: the `volt_token::Genesis` (members and currencies) and
//! the set-up transactions that register the fixtures (stations, vehicles, batteries and their
//! places, pools, shares, opening balances, leases), signed with the document's demo keys.

use std::collections::BTreeMap;
use volt_genesis::{GenesisDoc, GenesisError, KeyScheme, Placement, demo_keypair};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Call, ChainId, Custody, Height, LeaseTerms, Nonce, SignedTx, Symbol, Timestamp,
    TxBody,
};
use volt_token::{Genesis, GenesisMember};

/// Set-up transactions expire this many blocks after genesis (they land in the first few).
pub const SETUP_EXPIRY_BLOCKS: u64 = 10_000;

/// The fleets' signed lease offers lapse this long after genesis time.
pub const SETUP_OFFER_MS: u64 = 7 * 24 * 3_600_000;

/// Why the document could not be turned into a ledger start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The document is invalid.
    #[error("invalid genesis document: {0}")]
    Invalid(#[from] GenesisError),
    /// The pilot signs with the document's keys, so it needs the demo scheme.
    #[error("the pilot needs key scheme DemoLabels to sign set-up transactions, got {0:?}")]
    KeyScheme(KeyScheme),
    /// A name the document refers to has no key (a validated document never does this).
    #[error("no key for member {0}")]
    UnknownMember(String),
    /// A pool the document refers to is not defined (a validated document never does this).
    #[error("unknown pool {0}")]
    UnknownPool(Symbol),
    /// A currency the document refers to is not defined (a validated document never does this).
    #[error("unknown currency {0}")]
    UnknownCurrency(Symbol),
}

/// The demo keys of every member, by name, with the next nonce of each account.
pub struct Wallets {
    chain_id: ChainId,
    keys: BTreeMap<String, Keypair>,
    nonces: BTreeMap<AccountId, u64>,
}

impl Wallets {
    /// The keys of every member of a [`KeyScheme::DemoLabels`] document.
    pub fn from_doc(doc: &GenesisDoc) -> Result<Wallets, SetupError> {
        if doc.key_scheme != KeyScheme::DemoLabels {
            return Err(SetupError::KeyScheme(doc.key_scheme));
        }
        let keys =
            doc.members.iter().map(|m| (m.name.clone(), demo_keypair(&m.key_label))).collect();
        Ok(Wallets { chain_id: doc.chain_id.clone(), keys, nonces: BTreeMap::new() })
    }

    /// The chain id transactions carry.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The key of member `name`.
    pub fn key(&self, name: &str) -> Result<&Keypair, SetupError> {
        self.keys.get(name).ok_or_else(|| SetupError::UnknownMember(name.to_owned()))
    }

    /// The account of member `name`.
    pub fn account(&self, name: &str) -> Result<AccountId, SetupError> {
        Ok(self.key(name)?.account())
    }

    /// A transaction from `name` with its next nonce (consumed).
    pub fn tx(&mut self, name: &str, call: Call, expiry: Height) -> Result<SignedTx, SetupError> {
        let key = self.key(name)?.clone();
        let nonce = self.nonces.entry(key.account()).or_insert(0);
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer: key.account(),
            nonce: Nonce(*nonce),
            expiry_height: expiry,
            call,
        };
        *nonce += 1;
        Ok(body.sign(&key))
    }
}

/// A ledger start: the genesis state, the set-up transactions in dependency order, and the
/// wallets (with nonces advanced past the set-up).
pub struct Setup {
    /// The ledger's genesis.
    pub genesis: Genesis,
    /// Set-up transactions, in the order they must apply.
    pub txs: Vec<SignedTx>,
    /// Member keys and nonces.
    pub wallets: Wallets,
    /// Lease terms per pool class, in document order.
    pub leases: Vec<LeaseTerms>,
}

/// The ledger's genesis (members and currencies) of a validated document, whatever its key
/// scheme: a real network's node needs no member keys to start.
pub fn ledger_genesis(doc: &GenesisDoc) -> Result<Genesis, SetupError> {
    let account = |name: &str| {
        doc.member(name).map(|m| m.account).ok_or_else(|| SetupError::UnknownMember(name.into()))
    };
    Ok(Genesis {
        chain_id: doc.chain_id.clone(),
        time: doc.genesis_time,
        members: doc
            .members
            .iter()
            .map(|m| GenesisMember {
                account: m.account,
                role: m.role,
                identity_expiry: m.identity_expiry,
            })
            .collect(),
        currencies: doc
            .currencies
            .iter()
            .map(|c| Ok((c.symbol.clone(), account(&c.issuer)?)))
            .collect::<Result<_, SetupError>>()?,
    })
}

/// Validates `doc` and builds the ledger start.
pub fn build(doc: &GenesisDoc) -> Result<Setup, SetupError> {
    doc.validate()?;
    let mut wallets = Wallets::from_doc(doc)?;
    let genesis = ledger_genesis(doc)?;
    let mut txs = Vec::new();
    let expiry = Height(SETUP_EXPIRY_BLOCKS);
    let mut push = |wallets: &mut Wallets, name: &str, call: Call| -> Result<(), SetupError> {
        txs.push(wallets.tx(name, call, expiry)?);
        Ok(())
    };
    for s in &doc.stations {
        let call = Call::RegisterStation {
            station: s.id.clone(),
            controller: wallets.account(&s.controller)?,
            location: s.location.clone(),
            slots: s.slots,
            operator_cut_bps: s.operator_cut_bps,
        };
        push(&mut wallets, &s.operator, call)?;
    }
    // Each fleet registers its own vehicles: only a fleet can name itself as a payer.
    for v in &doc.vehicles {
        push(&mut wallets, &v.fleet, Call::RegisterVehicle { vehicle: v.id.clone() })?;
    }
    let pool_of = |pool: &Symbol| -> Result<&volt_genesis::PoolEntry, SetupError> {
        let found = doc.pools.iter().find(|p| p.class == *pool);
        found.ok_or_else(|| SetupError::UnknownPool(pool.clone()))
    };
    // The pool's lessor owns its batteries; the pool's issuer creates the class over them and
    // the lessor opens its lease, so each names the other its delegate. A station run by
    // another operator lets the lessor fill its slots, and the lessor approves the station for
    // swaps of its batteries, the same way.
    let mut pairs = Vec::new();
    for p in &doc.pools {
        pairs.extend([(p.lessor.clone(), p.issuer.clone()), (p.issuer.clone(), p.lessor.clone())]);
    }
    for b in &doc.batteries {
        let Placement::Station { station, .. } = &b.placement else { continue };
        let lessor = pool_of(&b.pool)?.lessor.clone();
        let found = doc.stations.iter().find(|s| s.id == *station);
        let operator = found.map(|s| s.operator.clone()).unwrap_or_else(|| lessor.clone());
        pairs.extend([(operator.clone(), lessor.clone()), (lessor, operator)]);
    }
    let mut delegated = std::collections::BTreeSet::new();
    for (from, to) in pairs {
        if from != to && delegated.insert((from.clone(), to.clone())) {
            let call = Call::SetDelegate { delegate: wallets.account(&to)?, allowed: true };
            push(&mut wallets, &from, call)?;
        }
    }
    for b in &doc.batteries {
        let call = Call::RegisterBattery {
            serial: b.serial.clone(),
            passport: b.passport.clone(),
            warehouse: b.warehouse.clone(),
        };
        push(&mut wallets, &pool_of(&b.pool)?.lessor, call)?;
    }
    for b in &doc.batteries {
        // Batteries go into vehicles only within a lease, so after the leases open (below).
        let Placement::Station { station, slot } = &b.placement else { continue };
        let to = Custody::Station { station: station.clone(), slot: *slot };
        let call = Call::MoveCustody { serial: b.serial.clone(), to };
        push(&mut wallets, &pool_of(&b.pool)?.lessor, call)?;
    }
    for p in &doc.pools {
        let batteries =
            doc.batteries.iter().filter(|b| b.pool == p.class).map(|b| b.serial.clone()).collect();
        let call = Call::CreateBatteryClass {
            class: p.class.clone(),
            name: p.name.clone(),
            supply_max: p.supply_max,
            batteries,
            revenue_currency: p.revenue_currency.clone(),
        };
        push(&mut wallets, &p.issuer, call)?;
    }
    for a in &doc.allocations {
        let pool = doc.pools.iter().find(|p| p.class == a.class);
        let issuer =
            pool.map(|p| p.issuer.clone()).ok_or(SetupError::UnknownPool(a.class.clone()))?;
        let call = Call::IssueShares {
            class: a.class.clone(),
            to: wallets.account(&a.holder)?,
            amount: a.shares,
        };
        push(&mut wallets, &issuer, call)?;
    }
    for b in &doc.balances {
        let currency = doc.currencies.iter().find(|c| c.symbol == b.currency);
        let issuer = currency
            .map(|c| c.issuer.clone())
            .ok_or(SetupError::UnknownCurrency(b.currency.clone()))?;
        let call = Call::Mint {
            currency: b.currency.clone(),
            to: wallets.account(&b.holder)?,
            amount: b.amount,
        };
        push(&mut wallets, &issuer, call)?;
    }
    let mut leases = Vec::new();
    for (i, p) in doc.pools.iter().enumerate() {
        let terms = LeaseTerms {
            class: p.class.clone(),
            lessor: wallets.account(&p.issuer)?,
            lessee: wallets.account(&p.lessee)?,
            offer_expiry: Timestamp(doc.genesis_time.0.saturating_add(SETUP_OFFER_MS)),
            fee_per_swap_max: p.lease.fee_per_swap_max,
            fee_per_kwh_max: p.lease.fee_per_kwh_max,
            rent_per_period: p.lease.rent_per_period,
            period_ms: p.lease.period_ms,
            periods: p.lease.periods,
            deposit: p.lease.deposit,
            grace_ms: p.lease.grace_ms,
            extension_periods_max: p.lease.extension_periods_max,
            notice_periods: p.lease.notice_periods,
            salt: i as u64,
        };
        let lessee_signature =
            wallets.key(&p.lessee)?.sign_raw(&terms.signing_message(&doc.chain_id));
        push(&mut wallets, &p.lessor, Call::OpenLease { terms: terms.clone(), lessee_signature })?;
        leases.push(terms);
    }
    for b in &doc.batteries {
        let Placement::Vehicle(v) = &b.placement else { continue };
        let call = Call::MoveCustody { serial: b.serial.clone(), to: Custody::Vehicle(v.clone()) };
        push(&mut wallets, &pool_of(&b.pool)?.lessor, call)?;
    }
    Ok(Setup { genesis, txs, wallets, leases })
}
