//! Swap attestation throughput: attestations per second through [`State::apply_block`] on the
//! in-memory store, in blocks of 1,000 swaps across 55 stations, each one verified twice (the
//! station controller's signature inside the call, one by one; the relaying transaction's
//! signature in the block's batch), executed (custody, health, receipt, fee split, revenue
//! accumulator) and committed with the new state root. Printed beside the raw single
//! `volt_proto::sig::verify` rate and the batch rate over the same signatures, measured in the
//! same run. Target from research: at least 100 attestations per second sustained.
//!
//! Run: `cargo bench -p volt-token --bench attest` (about a minute on two cores).
//!
//! Two layouts of the same 3,000 batteries are measured: 3 pools of 1,000 (the largest class
//! allowed) and 60 pools of 50, because every swap reads and rewrites its pool's class record,
//! which lists the pool's batteries.
//!
//! A manual timing loop rather than criterion's sampler, as in `apply.rs`: every block must
//! carry fresh counters and nonces, so blocks are built and signed first (untimed) and each
//! timed iteration applies the next one to one warm state. Each figure is the median of its
//! rounds.

// A benchmark measures wall time: `Instant::now` is banned in the pure crates' code, not here.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use volt_proto::sig::{self, BatchItem, Domain, Keypair, PublicKey};
use volt_proto::{
    Amount, Attestation, BatteryReading, Call, Custody, LeaseTerms, Role, SignedTx,
    SwapAttestation, Symbol, Timestamp, TxOutcome, codec,
};
use volt_token::invariants;
use volt_token::testkit::Rng;
use volt_token::testkit::{World, account, chain_id, genesis, passport, serial, sym, text};

const STATIONS: usize = 55;
const SLOTS: u16 = 40;
const BATTERIES: usize = 3_000;
const FLEETS: usize = 3;
const VEHICLES: usize = 1_500;
/// Swaps per block.
const BLOCK_SWAPS: usize = 1_000;
/// Untimed blocks first (warm caches), then timed rounds.
const WARMUP: usize = 2;
const ROUNDS: usize = 9;
const FUNDS: u128 = 1_000_000_000_000;
/// The leases' tariff: HK$150 a swap plus HK$10 a kWh.
const FEE_PER_SWAP_MAX: u128 = 15_000;
const FEE_PER_KWH_MAX: u128 = 1_000;

fn station_id(s: usize) -> Symbol {
    sym(&format!("HK{:02}", s + 1))
}

fn relay(s: usize) -> String {
    format!("relay-{s}")
}

fn fleet(f: usize) -> String {
    format!("fleet-{f}")
}

fn battery(b: usize) -> String {
    format!("CATL-{b:05}")
}

fn vehicle(v: usize) -> Symbol {
    sym(&format!("TX{v:04}"))
}

/// A network of 55 stations with 3,000 leased batteries in `pools` pools, 1,500 taxis each
/// carrying one, and the driver's picture of where every battery is.
struct Network {
    w: World,
    controllers: Vec<Keypair>,
    pool_size: usize,
    /// Battery in each slot of each station.
    slots: Vec<Vec<Option<usize>>>,
    /// Battery in each taxi.
    taxis: Vec<usize>,
    counters: Vec<u64>,
    rng: Rng,
}

impl Network {
    fn new(pool_size: usize) -> Network {
        let mut names: Vec<(String, Role)> = vec![
            ("admin".into(), Role::Admin),
            ("issuer".into(), Role::Issuer),
            ("operator".into(), Role::Operator),
            ("investor".into(), Role::Investor),
        ];
        names.extend((0..STATIONS).map(|s| (relay(s), Role::Station)));
        names.extend((0..FLEETS).map(|f| (fleet(f), Role::Investor)));
        let mut net = Network {
            w: World::from_genesis(&genesis(&names)),
            controllers: (0..STATIONS)
                .map(|s| Keypair::for_testing(&format!("bench/controller/{s}")))
                .collect(),
            pool_size,
            slots: vec![vec![None; usize::from(SLOTS)]; STATIONS],
            taxis: Vec::new(),
            counters: vec![0; STATIONS],
            rng: Rng(0x6174_7465_7374),
        };
        net.set_up();
        net
    }

    fn pools(&self) -> usize {
        BATTERIES / self.pool_size
    }

    /// Pool `p` is leased to fleet `p % FLEETS`; taxi `v` belongs to fleet `v % FLEETS`.
    fn fleet_of_battery(&self, b: usize) -> usize {
        (b / self.pool_size) % FLEETS
    }

    fn setup_block(&mut self, calls: Vec<(String, Call)>) {
        let txs: Vec<SignedTx> = calls.into_iter().map(|(name, c)| self.w.tx(&name, c)).collect();
        let result = self.w.block(&txs);
        for (i, receipt) in result.receipts.iter().enumerate() {
            assert_eq!(receipt.outcome, TxOutcome::Applied, "set-up tx {i}");
        }
    }

    fn set_up(&mut self) {
        let op = |call| ("operator".to_string(), call);
        let mut calls = Vec::new();
        for s in 0..STATIONS {
            calls.push(op(Call::RegisterStation {
                station: station_id(s),
                controller: self.controllers[s].account(),
                location: text("Hong Kong"),
                slots: SLOTS,
                operator_cut_bps: 1_500,
            }));
        }
        for b in 0..BATTERIES {
            let name = battery(b);
            let warehouse = sym("TSING-YI");
            calls.push(op(Call::RegisterBattery {
                serial: serial(&name),
                passport: passport(&name),
                warehouse,
            }));
        }
        // Each fleet registers its own taxis; the operator lets the issuer pool its batteries.
        for v in 0..VEHICLES {
            calls.push((fleet(v % FLEETS), Call::RegisterVehicle { vehicle: vehicle(v) }));
        }
        calls.push(op(Call::SetDelegate { delegate: account("issuer"), allowed: true }));
        for f in 0..FLEETS {
            let to = account(&fleet(f));
            calls.push((
                "issuer".into(),
                Call::Mint { currency: sym("HKD"), to, amount: Amount(FUNDS) },
            ));
        }
        self.setup_block(calls);

        let mut calls = Vec::new();
        for p in 0..self.pools() {
            let class = sym(&format!("POOL-{p:02}"));
            let range = p * self.pool_size..(p + 1) * self.pool_size;
            calls.push((
                "issuer".into(),
                Call::CreateBatteryClass {
                    class: class.clone(),
                    name: text("pool"),
                    supply_max: Amount(1_000_000),
                    batteries: range.map(|b| serial(&battery(b))).collect(),
                    revenue_currency: sym("HKD"),
                },
            ));
            let to = account("investor");
            calls.push((
                "issuer".into(),
                Call::IssueShares { class, to, amount: Amount(1_000_000) },
            ));
        }
        self.setup_block(calls);

        // The issuer (each class's lessor) opens the leases; the batteries then go into the
        // taxis of the fleet their pool is leased to, later in the same block.
        let mut calls = Vec::new();
        for p in 0..self.pools() {
            let f = p % FLEETS;
            let terms = LeaseTerms {
                class: sym(&format!("POOL-{p:02}")),
                lessor: account("issuer"),
                lessee: account(&fleet(f)),
                offer_expiry: Timestamp(self.w.next.time.0 + 86_400_000),
                // Every fee below (HK$150 to HK$400 for 40 kWh) is within the tariff.
                fee_per_swap_max: Amount(FEE_PER_SWAP_MAX),
                fee_per_kwh_max: Amount(FEE_PER_KWH_MAX),
                rent_per_period: Amount(1),
                period_ms: 365 * 86_400_000,
                periods: 1,
                deposit: Amount::ZERO,
                grace_ms: 0,
                extension_periods_max: 0,
                notice_periods: 0,
                salt: 0,
            };
            let lessee_signature = self.w.lessee_signs(&fleet(f), &terms);
            calls.push(("issuer".to_string(), Call::OpenLease { terms, lessee_signature }));
        }
        // Each taxi takes a battery of its fleet; the rest go round-robin into the slots.
        self.taxis = vec![usize::MAX; VEHICLES];
        let mut next_slot = 0;
        for b in 0..BATTERIES {
            let f = self.fleet_of_battery(b);
            let taxi = (0..VEHICLES).find(|v| v % FLEETS == f && self.taxis[*v] == usize::MAX);
            let to = match taxi {
                Some(v) => {
                    self.taxis[v] = b;
                    Custody::Vehicle(vehicle(v))
                }
                None => {
                    let (s, slot) = (next_slot % STATIONS, next_slot / STATIONS);
                    next_slot += 1;
                    self.slots[s][slot] = Some(b);
                    Custody::Station { station: station_id(s), slot: slot as u16 }
                }
            };
            calls.push(op(Call::MoveCustody { serial: serial(&battery(b)), to }));
        }
        self.setup_block(calls);
    }

    /// The next block: `BLOCK_SWAPS` valid swaps, each by a different taxi, relayed by the
    /// station's own relay member.
    fn next_block(&mut self) -> Vec<SignedTx> {
        let mut busy = vec![false; VEHICLES];
        let mut txs = Vec::with_capacity(BLOCK_SWAPS);
        while txs.len() < BLOCK_SWAPS {
            let v = self.rng.below(VEHICLES);
            let s = self.rng.below(STATIONS);
            if busy[v] {
                continue;
            }
            let ready: Vec<usize> = (0..usize::from(SLOTS))
                .filter(|slot| {
                    self.slots[s][*slot].is_some_and(|b| self.fleet_of_battery(b) == v % FLEETS)
                })
                .collect();
            if ready.is_empty() {
                continue;
            }
            let slot = ready[self.rng.below(ready.len())];
            let (out, into) = (self.taxis[v], self.slots[s][slot].unwrap_or(usize::MAX));
            busy[v] = true;
            self.counters[s] += 1;
            let reading = |b: usize, soc_permille| BatteryReading {
                serial: serial(&battery(b)),
                soc_permille,
                soh_permille: 990,
                cycles: 10,
            };
            let attestation = Attestation::Swap(SwapAttestation {
                station: station_id(s),
                counter: self.counters[s],
                station_time: Timestamp(self.w.next.time.0),
                vehicle: vehicle(v),
                battery_out: reading(out, 150),
                battery_in: reading(into, 980),
                energy_wh: 40_000,
                fee: Amount(15_000 + self.rng.below(25_000) as u128),
                currency: sym("HKD"),
            });
            let signature =
                self.controllers[s].sign_raw(&attestation.signing_message(&self.w.chain_id));
            txs.push(self.w.tx(&relay(s), Call::SubmitAttestation { attestation, signature }));
            self.slots[s][slot] = Some(out);
            self.taxis[v] = into;
        }
        txs
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_second(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64()
}

/// Applies `WARMUP + ROUNDS` blocks of swaps; returns the median block time and the signed
/// attestations and transactions of the last block, for the raw rates.
fn apply_rate(pool_size: usize) -> (Duration, Vec<SignedTx>) {
    let mut net = Network::new(pool_size);
    let mut samples = Vec::new();
    let mut last = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        // Built and signed outside the timed section.
        let txs = net.next_block();
        let started = Instant::now();
        let result = net.w.try_block(&txs);
        let elapsed = started.elapsed();
        let result = result.unwrap_or_else(|e| panic!("block refused: {e}"));
        let settled = result.receipts.iter().filter(|r| r.outcome == TxOutcome::Applied).count();
        assert_eq!(settled, BLOCK_SWAPS, "every swap settles");
        if round >= WARMUP {
            samples.push(elapsed);
        }
        black_box(result.state_root);
        last = txs;
    }
    invariants::check(&net.w.state).unwrap_or_else(|v| panic!("invariant broken: {v}"));
    (median(samples), last)
}

/// Median time of `sig::verify` over every attestation signature of a block, one by one.
fn single_verify_time(txs: &[SignedTx], controllers: &[Keypair]) -> Duration {
    let chain = chain_id();
    let items: Vec<(PublicKey, Vec<u8>, volt_proto::Signature)> = txs
        .iter()
        .filter_map(|tx| match &tx.body.call {
            Call::SubmitAttestation { attestation, signature } => {
                let s: usize = attestation.station().as_str()[2..].parse().ok()?;
                let key = controllers[s - 1].public_key();
                Some((key, attestation.signing_message(&chain), *signature))
            }
            _ => None,
        })
        .collect();
    let samples = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for (key, message, signature) in &items {
                let verdict = sig::verify(key, message, signature);
                assert!(verdict.is_ok());
            }
            started.elapsed()
        })
        .collect();
    median(samples)
}

/// Median time of `sig::verify_batch` over the block's transaction signatures.
fn batch_verify_time(txs: &[SignedTx]) -> Duration {
    let keys: Vec<PublicKey> = (txs.iter())
        .map(|tx| PublicKey::from_account(tx.body.signer).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let messages: Vec<Vec<u8>> = (txs.iter())
        .map(|tx| sig::signing_message(Domain::Tx, &tx.body.chain_id, &codec::encode(&tx.body)))
        .collect();
    let items: Vec<BatchItem<'_>> = (0..txs.len())
        .map(|i| BatchItem { key: &keys[i], message: &messages[i], signature: &txs[i].signature })
        .collect();
    let samples = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            assert!(sig::verify_batch(&items).is_ok());
            started.elapsed()
        })
        .collect();
    median(samples)
}

fn main() {
    println!(
        "swap attestations through apply_block: blocks of {BLOCK_SWAPS} swaps across {STATIONS} \
         stations, {BATTERIES} batteries, in-memory store, median of {ROUNDS} blocks"
    );
    let controllers: Vec<Keypair> =
        (0..STATIONS).map(|s| Keypair::for_testing(&format!("bench/controller/{s}"))).collect();
    let mut single = None;
    for pool_size in [1_000, 50] {
        let (block, txs) = apply_rate(pool_size);
        let rate = per_second(BLOCK_SWAPS, block);
        println!(
            "  pools of {pool_size:>5} batteries: {:>8.0} attestations/s ({:.1} ms per block, \
             {:.0} µs per attestation)",
            rate,
            block.as_secs_f64() * 1e3,
            block.as_secs_f64() * 1e6 / BLOCK_SWAPS as f64
        );
        if single.is_none() {
            single = Some((single_verify_time(&txs, &controllers), batch_verify_time(&txs)));
        }
    }
    if let Some((single, batch)) = single {
        println!(
            "  raw ed25519, same signatures: sig::verify single {:>8.0} /s ({:.1} µs each), \
             sig::verify_batch {:>8.0} /s ({:.1} µs each)",
            per_second(BLOCK_SWAPS, single),
            single.as_secs_f64() * 1e6 / BLOCK_SWAPS as f64,
            per_second(BLOCK_SWAPS, batch),
            batch.as_secs_f64() * 1e6 / BLOCK_SWAPS as f64
        );
    }
}
