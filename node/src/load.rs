//! The load driver: what the pilot's stations, fleets and investors do each simulated hour.
//!
//! It keeps its own model of where every battery is (a vehicle or a station slot) and when a
//! pack in a slot is charged again, and only attests swaps that the ledger should settle: a taxi
//! of fleet F swaps its pack for a charged pack of F's leased pool in the chosen station's
//! slots, and the pack it returns takes the freed slot. A swap reserves both packs until its
//! block is final; the model follows the ledger's receipts (settled: custody moves; anything
//! else: the reservation is released). Investors trade shares for HKD, fleets pay rent hourly,
//! holders claim revenue.

use crate::setup::{SetupError, Wallets};
use std::collections::BTreeMap;
use volt_consensus::sim::rng::Rng;
use volt_genesis::{GenesisDoc, Placement};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Attestation, BatteryReading, Call, Custody, Hash, Height, LeaseTerms,
    Leg, Receipt, Serial, SignedTx, SwapAttestation, Symbol, Timestamp, TradeTerms, TxOutcome,
};
use volt_token::keys::{Battery, Key, Station as LedgerStation};
use volt_token::{MemStore, State};

/// One simulated hour, in milliseconds.
pub const HOUR_MS: u64 = 3_600_000;
/// A returned pack is charged again this long after it enters a slot.
pub const CHARGE_MS: u64 = 45 * 60_000;
/// A taxi drives at least this long between two swaps.
pub const DRIVE_MS_MIN: u64 = 30 * 60_000;
/// Swap price, HKD cents per kWh delivered.
pub const FEE_CENTS_PER_KWH: u64 = 450;
/// Load transactions expire this many blocks after they are made.
pub const LOAD_EXPIRY_BLOCKS: u64 = 600;
/// Tries to find an idle taxi, or a station with a charged pack, before skipping a swap.
const TRIES: usize = 8;

/// What happens at one moment of the simulated hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadEvent {
    /// A taxi pulls into a station.
    Swap,
    /// Every fleet pays one period of rent.
    Rent,
    /// Two investors trade pool shares for HKD.
    Trade,
    /// An investor claims its revenue from one pool.
    Claim,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Vehicle(usize),
    Slot(usize, u16),
    Elsewhere,
}

struct Pack {
    serial: Serial,
    pool: usize,
    place: Place,
    charged_at_ms: u64,
    soh_permille: u16,
    cycles: u32,
    reserved: bool,
}

struct Taxi {
    id: Symbol,
    pool: usize,
    pack: Option<usize>,
    busy: bool,
    next_swap_ms: u64,
}

struct Station {
    id: Symbol,
    controller: String,
    counter: u64,
    slots: Vec<Option<usize>>,
}

struct PendingSwap {
    taxi: usize,
    out: usize,
    into: usize,
    station: usize,
    slot: u16,
    fee: Amount,
}

/// What the driver did, from finalized receipts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Swaps attested and submitted.
    pub swaps_submitted: u64,
    /// Swaps settled by the ledger.
    pub swaps_settled: u64,
    /// Swaps recorded as disputed (or refused).
    pub swaps_disputed: u64,
    /// Swaps skipped: no idle taxi or no charged pack of the right pool nearby.
    pub swaps_skipped: u64,
    /// Swap fees settled, HKD cents.
    pub fees_cents: u128,
    /// Trades submitted.
    pub trades_submitted: u64,
    /// Trades settled.
    pub trades_settled: u64,
    /// Rent payments applied.
    pub rent_payments: u64,
    /// Revenue claims applied.
    pub claims: u64,
}

/// The load driver.
pub struct LoadDriver {
    rng: Rng,
    chain_id: volt_proto::ChainId,
    genesis_time: Timestamp,
    swaps_per_hour: u64,
    packs: Vec<Pack>,
    taxis: Vec<Taxi>,
    stations: Vec<Station>,
    pools: Vec<Symbol>,
    fleets: Vec<String>,
    leases: Vec<Hash>,
    investors: Vec<String>,
    pending: BTreeMap<Hash, PendingSwap>,
    kinds: BTreeMap<Hash, LoadEvent>,
    trade_salt: u64,
    /// Counts, from finalized receipts.
    pub stats: LoadStats,
}

impl LoadDriver {
    /// The driver for a document's fixtures (as placed by the set-up transactions).
    pub fn new(
        doc: &GenesisDoc,
        leases: &[LeaseTerms],
        swaps_per_hour: u64,
        seed: u64,
    ) -> LoadDriver {
        let pools: Vec<Symbol> = doc.pools.iter().map(|p| p.class.clone()).collect();
        let pool_of = |class: &Symbol| pools.iter().position(|p| p == class).unwrap_or(0);
        let mut stations: Vec<Station> = doc
            .stations
            .iter()
            .map(|s| Station {
                id: s.id.clone(),
                controller: s.controller.clone(),
                counter: 0,
                slots: vec![None; usize::from(s.slots)],
            })
            .collect();
        let mut taxis: Vec<Taxi> = doc
            .vehicles
            .iter()
            .map(|v| Taxi {
                id: v.id.clone(),
                pool: doc.pools.iter().position(|p| p.lessee == v.fleet).unwrap_or(0),
                pack: None,
                busy: false,
                next_swap_ms: 0,
            })
            .collect();
        let mut packs = Vec::new();
        for (i, b) in doc.batteries.iter().enumerate() {
            let place = match &b.placement {
                Placement::Vehicle(id) => match taxis.iter().position(|t| t.id == *id) {
                    Some(t) => {
                        taxis[t].pack = Some(i);
                        Place::Vehicle(t)
                    }
                    None => Place::Elsewhere,
                },
                Placement::Station { station, slot } => {
                    match stations.iter().position(|s| s.id == *station) {
                        Some(s) if usize::from(*slot) < stations[s].slots.len() => {
                            stations[s].slots[usize::from(*slot)] = Some(i);
                            Place::Slot(s, *slot)
                        }
                        _ => Place::Elsewhere,
                    }
                }
                Placement::Warehouse => Place::Elsewhere,
            };
            packs.push(Pack {
                serial: b.serial.clone(),
                pool: pool_of(&b.pool),
                place,
                charged_at_ms: 0,
                soh_permille: 1_000,
                cycles: 0,
                reserved: false,
            });
        }
        let investors = doc
            .members
            .iter()
            .filter(|m| m.name.starts_with("investor-"))
            .map(|m| m.name.clone())
            .collect();
        LoadDriver {
            rng: Rng::new(seed),
            chain_id: doc.chain_id.clone(),
            genesis_time: doc.genesis_time,
            swaps_per_hour,
            packs,
            taxis,
            stations,
            fleets: doc.pools.iter().map(|p| p.lessee.clone()).collect(),
            pools,
            leases: leases.iter().map(LeaseTerms::id).collect(),
            investors,
            pending: BTreeMap::new(),
            kinds: BTreeMap::new(),
            trade_salt: 0,
            stats: LoadStats::default(),
        }
    }

    /// The events of one simulated hour starting at `start_ms`, as (time, event), unordered.
    pub fn plan_hour(&mut self, start_ms: u64) -> Vec<(u64, LoadEvent)> {
        let mut events = vec![(start_ms, LoadEvent::Rent)];
        for _ in 0..self.swaps_per_hour {
            events.push((start_ms + self.rng.below(HOUR_MS), LoadEvent::Swap));
        }
        for _ in 0..(self.swaps_per_hour / 20).max(1) {
            events.push((start_ms + self.rng.below(HOUR_MS), LoadEvent::Trade));
        }
        for _ in 0..(self.swaps_per_hour / 40).max(1) {
            events.push((start_ms + self.rng.below(HOUR_MS), LoadEvent::Claim));
        }
        events
    }

    /// Runs one event at `now_ms` (virtual time since genesis) against the last final `state`
    /// at `height`, and returns the transactions to submit.
    pub fn on_event(
        &mut self,
        event: LoadEvent,
        now_ms: u64,
        wallets: &mut Wallets,
        state: &State<MemStore>,
        height: Height,
    ) -> Result<Vec<SignedTx>, SetupError> {
        let expiry = Height(height.0 + LOAD_EXPIRY_BLOCKS);
        let txs = match event {
            LoadEvent::Swap => self.swap(now_ms, wallets, expiry)?.into_iter().collect(),
            LoadEvent::Rent => {
                let mut txs = Vec::new();
                for (fleet, lease) in self.fleets.iter().zip(&self.leases) {
                    let call = Call::PayRent { lease: *lease, periods: 1 };
                    txs.push(wallets.tx(fleet, call, expiry)?);
                }
                txs
            }
            LoadEvent::Trade => self.trade(wallets, state, height, expiry)?.into_iter().collect(),
            LoadEvent::Claim => {
                let who = self.pick_investor();
                let class = self.pools[self.rng.below(self.pools.len() as u64) as usize].clone();
                vec![wallets.tx(&who, Call::ClaimRevenue { class }, expiry)?]
            }
        };
        for tx in &txs {
            self.kinds.insert(tx.id(), event);
        }
        Ok(txs)
    }

    fn pick_investor(&mut self) -> String {
        let i = self.rng.below(self.investors.len() as u64) as usize;
        self.investors.get(i).cloned().unwrap_or_default()
    }

    fn idle_taxi(&mut self, now_ms: u64) -> Option<usize> {
        (0..TRIES).find_map(|_| {
            let t = self.rng.below(self.taxis.len() as u64) as usize;
            let taxi = self.taxis.get(t)?;
            (!taxi.busy && taxi.pack.is_some() && taxi.next_swap_ms <= now_ms).then_some(t)
        })
    }

    fn charged_pack(&mut self, pool: usize, now_ms: u64) -> Option<(usize, u16, usize)> {
        for _ in 0..TRIES {
            let s = self.rng.below(self.stations.len() as u64) as usize;
            let found = self.stations.get(s)?.slots.iter().enumerate().find_map(|(slot, pack)| {
                let p = (*pack)?;
                let pack = &self.packs[p];
                let ok = pack.pool == pool && !pack.reserved && pack.charged_at_ms <= now_ms;
                ok.then_some((s, slot as u16, p))
            });
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn swap(
        &mut self,
        now_ms: u64,
        wallets: &mut Wallets,
        expiry: Height,
    ) -> Result<Option<SignedTx>, SetupError> {
        let Some(t) = self.idle_taxi(now_ms) else {
            self.stats.swaps_skipped += 1;
            return Ok(None);
        };
        let pool = self.taxis[t].pool;
        let (Some(out), Some((s, slot, into))) =
            (self.taxis[t].pack, self.charged_pack(pool, now_ms))
        else {
            self.stats.swaps_skipped += 1;
            return Ok(None);
        };
        let soc_out = self.rng.range(100, 250) as u16;
        let energy_wh = u64::from(980 - soc_out) * 52;
        let fee = Amount(u128::from(energy_wh * FEE_CENTS_PER_KWH / 1_000));
        let worn = u16::from(self.rng.chance(200));
        let returned = &mut self.packs[out];
        returned.soh_permille = returned.soh_permille.saturating_sub(worn);
        returned.cycles += 1;
        let battery_out = BatteryReading {
            serial: returned.serial.clone(),
            soc_permille: soc_out,
            soh_permille: returned.soh_permille,
            cycles: returned.cycles,
        };
        let fresh = &self.packs[into];
        let battery_in = BatteryReading {
            serial: fresh.serial.clone(),
            soc_permille: self.rng.range(950, 1_000) as u16,
            soh_permille: fresh.soh_permille,
            cycles: fresh.cycles,
        };
        let station = &mut self.stations[s];
        station.counter += 1;
        let attestation = Attestation::Swap(SwapAttestation {
            station: station.id.clone(),
            counter: station.counter,
            station_time: Timestamp(self.genesis_time.0 + now_ms),
            vehicle: self.taxis[t].id.clone(),
            battery_out,
            battery_in,
            energy_wh,
            fee,
            currency: hkd(),
        });
        let controller = station.controller.clone();
        let signature =
            wallets.key(&controller)?.sign_raw(&attestation.signing_message(&self.chain_id));
        let tx =
            wallets.tx(&controller, Call::SubmitAttestation { attestation, signature }, expiry)?;
        self.taxis[t].busy = true;
        self.packs[into].reserved = true;
        self.pending.insert(tx.id(), PendingSwap { taxi: t, out, into, station: s, slot, fee });
        self.stats.swaps_submitted += 1;
        Ok(Some(tx))
    }

    fn trade(
        &mut self,
        wallets: &mut Wallets,
        state: &State<MemStore>,
        height: Height,
        expiry: Height,
    ) -> Result<Option<SignedTx>, SetupError> {
        let maker = self.pick_investor();
        let taker = self.pick_investor();
        if maker == taker {
            return Ok(None);
        }
        let class = self.pools[self.rng.below(self.pools.len() as u64) as usize].clone();
        let shares = Amount(u128::from(self.rng.range(5, 50)));
        let price = Amount(shares.0 * u128::from(self.rng.range(9_000, 13_000)));
        let (maker_account, taker_account) = (wallets.account(&maker)?, wallets.account(&taker)?);
        let has = |who: AccountId, asset: &Asset, amount: Amount| {
            state.balance(asset, who).is_ok_and(|b| b >= amount)
        };
        let share_asset = Asset::Shares(class);
        if !has(maker_account, &share_asset, shares)
            || !has(taker_account, &Asset::Cash(hkd()), price)
        {
            return Ok(None);
        }
        self.trade_salt += 1;
        let terms = TradeTerms {
            maker: maker_account,
            taker: taker_account,
            maker_gives: Leg { asset: share_asset, amount: shares },
            taker_gives: Leg { asset: Asset::Cash(hkd()), amount: price },
            expiry_height: Height(height.0 + LOAD_EXPIRY_BLOCKS),
            salt: self.trade_salt,
        };
        let maker_key: Keypair = wallets.key(&maker)?.clone();
        let counterparty_signature = maker_key.sign_raw(&terms.signing_message(&self.chain_id));
        self.stats.trades_submitted += 1;
        Ok(Some(wallets.tx(&taker, Call::Trade { terms, counterparty_signature }, expiry)?))
    }

    /// Follows a finalized block's receipts at `now_ms`.
    pub fn on_receipts(&mut self, txs: &[SignedTx], receipts: &[Receipt], now_ms: u64) {
        for (tx, receipt) in txs.iter().zip(receipts) {
            let id = tx.id();
            let applied = receipt.outcome == TxOutcome::Applied;
            match self.kinds.remove(&id) {
                Some(LoadEvent::Trade) if applied => self.stats.trades_settled += 1,
                Some(LoadEvent::Rent) if applied => self.stats.rent_payments += 1,
                Some(LoadEvent::Claim) if applied => self.stats.claims += 1,
                _ => {}
            }
            if let Some(swap) = self.pending.remove(&id) {
                self.settle(swap, applied, now_ms);
            }
        }
    }

    fn settle(&mut self, swap: PendingSwap, settled: bool, now_ms: u64) {
        self.packs[swap.into].reserved = false;
        self.taxis[swap.taxi].busy = false;
        if !settled {
            self.stats.swaps_disputed += 1;
            return;
        }
        self.stats.swaps_settled += 1;
        self.stats.fees_cents += swap.fee.0;
        self.stations[swap.station].slots[usize::from(swap.slot)] = Some(swap.out);
        let returned = &mut self.packs[swap.out];
        returned.place = Place::Slot(swap.station, swap.slot);
        returned.charged_at_ms = now_ms + CHARGE_MS;
        self.packs[swap.into].place = Place::Vehicle(swap.taxi);
        let taxi = &mut self.taxis[swap.taxi];
        taxi.pack = Some(swap.into);
        taxi.next_swap_ms = now_ms + DRIVE_MS_MIN;
    }

    /// Swaps whose block is not final yet.
    pub fn pending_swaps(&self) -> usize {
        self.pending.len()
    }

    /// Packs the model places in a vehicle, in a station slot, and elsewhere.
    pub fn places(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for pack in &self.packs {
            match pack.place {
                Place::Vehicle(_) => counts.0 += 1,
                Place::Slot(..) => counts.1 += 1,
                Place::Elsewhere => counts.2 += 1,
            }
        }
        counts
    }
}

impl LoadDriver {
    /// Compares the driver's custody model with the ledger: every pack where the model says it
    /// is, and every station's attestation counter equal to what the driver signed. Call it
    /// when no swap is pending.
    pub fn check_against(&self, state: &State<MemStore>) -> Result<(), String> {
        for pack in &self.packs {
            let key = Key::Battery(pack.serial.clone());
            let record: Battery = state
                .record(&key)
                .map_err(|e| format!("reading battery {}: {e}", pack.serial))?
                .ok_or_else(|| format!("battery {} is not on the ledger", pack.serial))?;
            let expected = match pack.place {
                Place::Vehicle(t) => Some(Custody::Vehicle(self.taxis[t].id.clone())),
                Place::Slot(s, slot) => {
                    Some(Custody::Station { station: self.stations[s].id.clone(), slot })
                }
                Place::Elsewhere => None,
            };
            if let Some(expected) = expected
                && record.custody != expected
            {
                return Err(format!(
                    "battery {}: the ledger says {:?}, the driver's model {:?}",
                    pack.serial, record.custody, expected
                ));
            }
        }
        for station in &self.stations {
            let key = Key::Station(station.id.clone());
            let record: Option<LedgerStation> =
                state.record(&key).map_err(|e| format!("reading station {}: {e}", station.id))?;
            let counter = record.map_or(0, |r| r.counter);
            if counter != station.counter {
                return Err(format!(
                    "station {}: ledger counter {counter}, driver signed {}",
                    station.id, station.counter
                ));
            }
        }
        Ok(())
    }
}

fn hkd() -> Symbol {
    match Symbol::new("HKD") {
        Ok(s) => s,
        Err(e) => panic!("HKD is a valid symbol: {e}"),
    }
}
