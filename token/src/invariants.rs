//! Whole-state invariant checks, run by tests after every block (and available to auditors).
//!
//! These walk every entry, so they are O(state): use them in tests and audits, not per block in
//! production. Properties across time (status forward only, counters never reused) are checked
//! by comparing two snapshots with [`check_transition`].

use crate::State;
use crate::keys::{
    AttestationRecord, Battery, Currency, Duty, Holding, Key, Lease, LeaseStatus, Member,
    ShareClass, Station,
};
use crate::revenue::SCALE_BITS;
use crate::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use volt_proto::{AccountId, Amount, Asset, Custody, Hash, Serial, Symbol, codec};

/// A broken invariant, with what was expected and what was found.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Σ balances (plus revenue pots and escrow, for cash) differs from the recorded supply.
    #[error("asset {asset:?}: recorded supply {recorded} but balances sum to {summed}")]
    Supply {
        /// The asset.
        asset: Asset,
        /// minted − burned, or issued − redeemed.
        recorded: Amount,
        /// Σ balances (+ pots + escrow for cash).
        summed: Amount,
    },
    /// A share class issued more than its maximum supply, or a currency burned more than minted.
    #[error("asset {0:?}: issued beyond its cap or burned beyond its mint")]
    Bounds(Asset),
    /// A record points to something missing (asset, member, battery, class, lease, station).
    #[error("dangling reference: {0}")]
    Dangling(String),
    /// A non-zero balance is missing from its holder's `holdings`.
    #[error("a holding of {0:?} is not listed in its holder's holdings")]
    Unlisted(Asset),
    /// Revenue of a class does not add up exactly.
    #[error("revenue of class {class}: {detail}")]
    Revenue {
        /// The class.
        class: Symbol,
        /// What does not add up.
        detail: String,
    },
    /// A battery's lease does not match the active leases.
    #[error("battery {0}: lease records disagree")]
    Lease(Serial),
    /// A slot's index and the battery records disagree (two batteries in one slot, or none).
    #[error("station {0} slot {1}: slot index and battery custody disagree")]
    Slot(Symbol, u16),
    /// A station's attestation records are not exactly 1..=counter.
    #[error("station {0}: attestation counters are not gap-free")]
    Counter(Symbol),
    /// Something moved backwards between two states.
    #[error("moved backwards: {0}")]
    Backwards(String),
    /// A key or value does not decode.
    #[error("entry does not decode: {0}")]
    Decode(String),
}

const KEY_BYTES_MAX: usize = 4096;

/// Everything the checks need, decoded once.
#[derive(Default)]
struct Snapshot {
    currencies: BTreeMap<Symbol, Currency>,
    classes: BTreeMap<Symbol, ShareClass>,
    members: BTreeMap<AccountId, Member>,
    holdings: Vec<(Asset, AccountId, Holding)>,
    batteries: BTreeMap<Serial, Battery>,
    stations: BTreeMap<Symbol, Station>,
    leases: BTreeMap<Hash, Lease>,
    attestations: BTreeMap<Symbol, BTreeSet<u64>>,
    slots: BTreeMap<(Symbol, u16), Serial>,
    class_batteries: BTreeMap<Symbol, Vec<Serial>>,
    listed: BTreeSet<(AccountId, Asset)>,
    duties: BTreeMap<AccountId, u32>,
    duty_entries: BTreeSet<(AccountId, Duty)>,
}

impl Snapshot {
    fn batteries_of(&self, class: &Symbol) -> &[Serial] {
        self.class_batteries.get(class).map(Vec::as_slice).unwrap_or_default()
    }
}

fn decode<T: serde::Serialize + serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, Violation> {
    codec::decode(bytes, crate::STATE_VALUE_BYTES_MAX)
        .map_err(|e| Violation::Decode(format!("{what}: {e}")))
}

fn snapshot<S: Store>(state: &State<S>) -> Result<Snapshot, Violation> {
    let entries = state.entries().map_err(|e| Violation::Decode(e.to_string()))?;
    let mut s = Snapshot::default();
    for (key, value) in &entries {
        let key: Key = codec::decode(key, KEY_BYTES_MAX)
            .map_err(|e| Violation::Decode(format!("key: {e}")))?;
        match key {
            Key::Currency(symbol) => {
                s.currencies.insert(symbol, decode("currency", value)?);
            }
            Key::Class(symbol) => {
                s.classes.insert(symbol, decode("class", value)?);
            }
            Key::Member(account) => {
                s.members.insert(account, decode("member", value)?);
            }
            Key::Balance(asset, account) => {
                s.holdings.push((asset, account, decode("bal", value)?))
            }
            Key::Battery(serial) => {
                s.batteries.insert(serial, decode("battery", value)?);
            }
            Key::Station(id) => {
                s.stations.insert(id, decode("station", value)?);
            }
            Key::Lease(id) => {
                s.leases.insert(id, decode("lease", value)?);
            }
            Key::Attestation(station, counter) => {
                let _: AttestationRecord = decode("attestation", value)?;
                s.attestations.entry(station).or_default().insert(counter);
            }
            Key::ClassBatteries(class) => {
                s.class_batteries.insert(class, decode("class batteries", value)?);
            }
            Key::Slot(station, slot) => {
                s.slots.insert((station, slot), decode("slot", value)?);
            }
            Key::Holds(account, asset) => {
                s.listed.insert((account, asset));
            }
            Key::DutyOf(account, duty) => {
                *s.duties.entry(account).or_default() += 1;
                s.duty_entries.insert((account, duty));
            }
            Key::Meta
            | Key::TradeSettled(_)
            | Key::TradeCancelled(_)
            | Key::Vehicle(_)
            | Key::Evidence(..)
            | Key::Delegate(..) => {}
        }
    }
    Ok(s)
}

/// Checks every invariant listed in the crate docs over the whole state.
pub fn check<S: Store>(state: &State<S>) -> Result<(), Violation> {
    let s = snapshot(state)?;
    check_supply(&s)?;
    check_duties(&s)?;
    check_revenue(&s)?;
    check_batteries_and_leases(&s)?;
    check_counters(&s)
}

fn add(sum: &mut Amount, amount: Amount, asset: &Asset) -> Result<(), Violation> {
    *sum = sum.checked_add(amount).ok_or_else(|| Violation::Bounds(asset.clone()))?;
    Ok(())
}

fn check_supply(s: &Snapshot) -> Result<(), Violation> {
    let mut recorded: BTreeMap<Asset, Amount> = BTreeMap::new();
    let mut summed: BTreeMap<Asset, Amount> = BTreeMap::new();
    for (symbol, c) in &s.currencies {
        let asset = Asset::Cash(symbol.clone());
        let supply =
            c.minted.checked_sub(c.burned).ok_or_else(|| Violation::Bounds(asset.clone()))?;
        recorded.insert(asset, supply);
    }
    for (symbol, c) in &s.classes {
        let asset = Asset::Shares(symbol.clone());
        if c.outstanding() > c.supply_max || c.redeemed > c.issued {
            return Err(Violation::Bounds(asset));
        }
        recorded.insert(asset, c.outstanding());
        // Cash a class holds for its holders is part of that currency's supply.
        if let Some(revenue) = &c.revenue {
            let cash = Asset::Cash(revenue.currency.clone());
            add(summed.entry(cash.clone()).or_default(), revenue.pot, &cash)?;
        }
    }
    for lease in s.leases.values() {
        if let Some(revenue) = s.classes.get(&lease.terms.class).and_then(|c| c.revenue.as_ref()) {
            let cash = Asset::Cash(revenue.currency.clone());
            add(summed.entry(cash.clone()).or_default(), lease.deposit_held, &cash)?;
            add(summed.entry(cash.clone()).or_default(), lease.rent_held, &cash)?;
        }
    }
    let mut listed = 0usize;
    for (asset, account, holding) in &s.holdings {
        s.members.get(account).ok_or_else(|| dangling("holder", account))?;
        if !recorded.contains_key(asset) {
            return Err(dangling("asset", asset));
        }
        let must_list = !holding.amount.is_zero() || holding.revenue_accrued >> SCALE_BITS != 0;
        let is_listed = s.listed.contains(&(*account, asset.clone()));
        if holding.amount.is_zero() && holding.revenue_accrued == 0 {
            return Err(dangling("empty balance record", &(asset, account)));
        }
        if must_list != is_listed {
            return Err(Violation::Unlisted(asset.clone()));
        }
        listed += usize::from(is_listed);
        add(summed.entry(asset.clone()).or_default(), holding.amount, asset)?;
    }
    // Every listing names a record, and each member's counts match its index entries.
    if listed != s.listed.len() {
        return Err(dangling("holdings index entry without a balance", &s.listed.len()));
    }
    for (account, member) in &s.members {
        let assets = s.listed.iter().filter(|(a, _)| a == account).count();
        let duties = s.duties.get(account).copied().unwrap_or_default();
        if assets != member.assets as usize || duties != member.duties {
            return Err(dangling("member index counts", account));
        }
    }
    for (asset, recorded) in recorded {
        let summed = summed.get(&asset).copied().unwrap_or_default();
        if summed != recorded {
            return Err(Violation::Supply { asset, recorded, summed });
        }
    }
    Ok(())
}

/// `(deposited − held − claimed)·2⁶⁴ = Σ (accrued + n·(per_share − checkpoint)) + carry`, and
/// `pot = deposited − claimed`: revenue deposited = claimed + claimable + carried remainder.
fn check_revenue(s: &Snapshot) -> Result<(), Violation> {
    for (symbol, class) in &s.classes {
        let Some(r) = &class.revenue else { continue };
        let fail =
            |detail: &str| Violation::Revenue { class: symbol.clone(), detail: detail.into() };
        let pot = r.deposited.checked_sub(r.claimed).ok_or_else(|| fail("claimed > deposited"))?;
        if pot != r.pot {
            return Err(fail(&format!("pot {} but deposited − claimed = {pot}", r.pot)));
        }
        let distributed = pot.checked_sub(r.held).ok_or_else(|| fail("held > pot"))?;
        let expected = distributed.0.checked_shl(SCALE_BITS).ok_or_else(|| fail("overflow"))?;
        let mut owed = r.carry;
        for (asset, _, h) in &s.holdings {
            if *asset != Asset::Shares(symbol.clone()) {
                continue;
            }
            let delta = r.per_share.checked_sub(h.revenue_checkpoint);
            let earned = delta.and_then(|d| h.amount.0.checked_mul(d));
            let total = earned.and_then(|e| e.checked_add(h.revenue_accrued));
            owed = total.and_then(|t| owed.checked_add(t)).ok_or_else(|| fail("overflow"))?;
        }
        if owed != expected {
            return Err(fail(&format!("owed {owed} scaled units, expected {expected}")));
        }
    }
    Ok(())
}

fn check_batteries_and_leases(s: &Snapshot) -> Result<(), Violation> {
    for (serial, battery) in &s.batteries {
        if let Some(class) = &battery.class {
            let record = s.classes.get(class).ok_or_else(|| dangling("class", class))?;
            let listed = s.batteries_of(class);
            if !listed.contains(serial) || listed.len() != record.battery_count as usize {
                return Err(dangling("class membership", serial));
            }
        }
        if let Custody::Station { station, slot } = &battery.custody {
            s.stations.get(station).ok_or_else(|| dangling("station", station))?;
            // One battery per slot: the slot index names exactly this battery.
            if s.slots.get(&(station.clone(), *slot)) != Some(serial) {
                return Err(Violation::Slot(station.clone(), *slot));
            }
        }
        if let Some(id) = battery.lease {
            let lease = s.leases.get(&id).ok_or_else(|| Violation::Lease(serial.clone()))?;
            let covers = s.batteries_of(&lease.terms.class).contains(serial);
            if lease.status != LeaseStatus::Active || !covers {
                return Err(Violation::Lease(serial.clone()));
            }
        }
    }
    for ((station, slot), serial) in &s.slots {
        let at = s.batteries.get(serial).map(|b| &b.custody);
        if at != Some(&Custody::Station { station: station.clone(), slot: *slot }) {
            return Err(Violation::Slot(station.clone(), *slot));
        }
    }
    // Every active lease holds each of its batteries: no battery is under two active leases.
    for (id, lease) in &s.leases {
        if lease.status != LeaseStatus::Active {
            // An ended lease keeps only a deposit its lessee could not receive yet.
            if !lease.rent_held.is_zero()
                || lease.status == LeaseStatus::Defaulted && !lease.deposit_held.is_zero()
            {
                return Err(dangling("escrow of an ended lease", id));
            }
            continue;
        }
        if lease.periods_released > lease.periods_paid || lease.periods_paid > lease.periods_total {
            return Err(dangling("lease period counts", id));
        }
        let unreleased = u128::from(lease.periods_paid - lease.periods_released);
        if lease.terms.rent_per_period.0.checked_mul(unreleased) != Some(lease.rent_held.0) {
            return Err(dangling("rent held in escrow", id));
        }
        s.classes.get(&lease.terms.class).ok_or_else(|| dangling("class", id))?;
        for serial in s.batteries_of(&lease.terms.class) {
            let held_by = s.batteries.get(serial).and_then(|b| b.lease);
            if held_by != Some(*id) {
                return Err(Violation::Lease(serial.clone()));
            }
        }
    }
    Ok(())
}

/// Every role index entry names a record that names the member in that role.
fn check_duties(s: &Snapshot) -> Result<(), Violation> {
    for (account, duty) in &s.duty_entries {
        let holds = match duty {
            Duty::BatteryOwner(serial) => s.batteries.get(serial).map(|b| b.owner == *account),
            Duty::Lessor(id) => s.leases.get(id).map(|l| l.lessor == *account),
            Duty::Lessee(id) => s.leases.get(id).map(|l| l.lessee == *account),
            Duty::ClassIssuer(class) => s.classes.get(class).map(|c| c.issuer == *account),
            Duty::CurrencyIssuer(c) => s.currencies.get(c).map(|c| c.issuer == *account),
            Duty::StationOperator(id) => s.stations.get(id).map(|st| st.operator == *account),
            // Vehicles are not decoded here; their fleet is checked where swaps read them.
            Duty::Fleet(_) => Some(true),
        };
        if holds != Some(true) {
            return Err(dangling("role index entry", &(account, duty)));
        }
    }
    for (serial, battery) in &s.batteries {
        if !s.duty_entries.contains(&(battery.owner, Duty::BatteryOwner(serial.clone()))) {
            return Err(dangling("battery owner not indexed", serial));
        }
    }
    Ok(())
}

fn check_counters(s: &Snapshot) -> Result<(), Violation> {
    for (id, station) in &s.stations {
        let recorded = s.attestations.get(id).cloned().unwrap_or_default();
        let expected: BTreeSet<u64> = (1..=station.counter).collect();
        if recorded != expected {
            return Err(Violation::Counter(id.clone()));
        }
    }
    Ok(())
}

/// Checks what must never move backwards between an earlier and a later state: battery status,
/// state of health (unless remanufactured in between), cycles, station counters, nonces.
pub fn check_transition<S: Store>(before: &State<S>, after: &State<S>) -> Result<(), Violation> {
    let (b, a) = (snapshot(before)?, snapshot(after)?);
    for (serial, old) in &b.batteries {
        let new = a.batteries.get(serial).ok_or_else(|| dangling("battery vanished", serial))?;
        if !(new.status == old.status || old.status.may_become(new.status)) {
            return Err(Violation::Backwards(format!(
                "{serial} status {:?}→{:?}",
                old.status, new.status
            )));
        }
        let remanufactured = new.status == volt_proto::BatteryStatus::Remanufactured
            && old.status != volt_proto::BatteryStatus::Remanufactured;
        if new.health.soh_permille > old.health.soh_permille && !remanufactured {
            return Err(Violation::Backwards(format!("{serial} state of health rose")));
        }
        if new.health.full_cycles < old.health.full_cycles {
            return Err(Violation::Backwards(format!("{serial} cycles fell")));
        }
    }
    for (id, old) in &b.stations {
        let new = a.stations.get(id).ok_or_else(|| dangling("station vanished", id))?;
        if new.counter < old.counter {
            return Err(Violation::Counter(id.clone()));
        }
    }
    for (account, old) in &b.members {
        let new = a.members.get(account).ok_or_else(|| dangling("member vanished", account))?;
        if new.next_nonce < old.next_nonce {
            return Err(Violation::Backwards(format!("nonce of {account:?}")));
        }
    }
    Ok(())
}

fn dangling(what: &str, id: &dyn std::fmt::Debug) -> Violation {
    Violation::Dangling(format!("{what} {id:?}"))
}
