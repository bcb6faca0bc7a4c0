//! Every part-2 rule: batteries, stations, swap and energy attestations, leases and revenue,
//! each with its success and each refusal or dispute reason.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_proto::{
    AccountId, Amount, Asset, Attestation, BatteryStatus, Call, Custody, EnergyAttestation,
    ErrorCode, Hash, LeaseTerms, Role, Symbol, Timestamp, TxOutcome,
};
use volt_token::keys::{
    AttestationEffect, AttestationRecord, Battery, Evidence, Key, Lease, Station, Vehicle,
};
use volt_token::testkit::{
    FAR_FUTURE, GENESIS_TIME, World, account, hkd, passport, reading, serial, swap, sym, text,
};
use volt_token::{invariants, revenue};

const STATION: &str = "HK-KC-001";
const CONTROLLER: &str = "controller-kc-001";
const TAXI: &str = "TAXI-1";
const DEPOSIT: u128 = 5_000;
const RENT: u128 = 1_000;
const DAY_MS: u64 = 86_400_000;
/// The most one swap may charge the fleet under the bank's lease (a flat tariff): high enough
/// that the swap tests below reach the payer's funds, low enough that it can be crossed.
const FEE_PER_SWAP_MAX: u128 = 1_000_000;
/// Periods the fleet may add alone to the bank's lease.
const EXTENSION_PERIODS_MAX: u32 = 10;

fn register_battery(w: &mut World, id: &str) {
    w.ok(
        "operator",
        Call::RegisterBattery {
            serial: serial(id),
            passport: passport(id),
            warehouse: sym("WH-1"),
        },
    );
}

fn station_slot(slot: u16) -> Custody {
    Custody::Station { station: sym(STATION), slot }
}

/// Terms of a lease of `class` (issued by `issuer`) to `lessee`: a week to accept, no notice.
fn lease_terms(class: &str, lessee: &str) -> LeaseTerms {
    LeaseTerms {
        class: sym(class),
        lessor: account("issuer"),
        lessee: account(lessee),
        offer_expiry: Timestamp(GENESIS_TIME.0 + 7 * DAY_MS),
        fee_per_swap_max: Amount(FEE_PER_SWAP_MAX),
        fee_per_kwh_max: Amount(0),
        rent_per_period: Amount(RENT),
        period_ms: DAY_MS,
        periods: 30,
        deposit: Amount(DEPOSIT),
        grace_ms: 3 * DAY_MS,
        extension_periods_max: EXTENSION_PERIODS_MAX,
        notice_periods: 0,
        salt: 1,
    }
}

/// The operator (which owns the batteries) and the issuer (which issues their class and is
/// the lessor of its leases) each name the other its delegate, as a pool's lessor and issuer
/// do at genesis: the issuer puts the operator's batteries in a class, the operator opens and
/// ends leases of the issuer's class.
fn delegate_both_ways(w: &mut World) {
    w.ok("operator", Call::SetDelegate { delegate: account("issuer"), allowed: true });
    w.ok("issuer", Call::SetDelegate { delegate: account("operator"), allowed: true });
}

/// Registers `name` as an operator that owns nothing here and is nobody's delegate.
fn register_stranger_operator(w: &mut World, name: &str) {
    let role = Role::Operator;
    w.ok(
        "admin",
        Call::RegisterMember { account: account(name), role, identity_expiry: FAR_FUTURE },
    );
}

/// A battery bank: pool POOL-A over B1, B2, B3 (alice 60 shares, bob 40), leased to `fleet`;
/// B1 is in TAXI-1, B2 and B3 in the station's slots 0 and 1; station cut 10 %. The operator
/// owns B1..B3 and B9; the fleet registered its taxi; the lease (lessor: the issuer) was opened
/// by the operator as the issuer's delegate, before B1 went into the taxi.
fn bank() -> (World, Hash) {
    let mut w = World::new(&["alice", "bob", "fleet"]);
    w.ok(
        "operator",
        Call::RegisterStation {
            station: sym(STATION),
            controller: account(CONTROLLER),
            location: text("Kwai Chung"),
            slots: 8,
            operator_cut_bps: 1_000,
        },
    );
    for id in ["B1", "B2", "B3", "B9"] {
        register_battery(&mut w, id);
    }
    w.ok("fleet", Call::RegisterVehicle { vehicle: sym(TAXI) });
    delegate_both_ways(&mut w);
    w.ok("operator", Call::MoveCustody { serial: serial("B2"), to: station_slot(0) });
    w.ok("operator", Call::MoveCustody { serial: serial("B3"), to: station_slot(1) });
    w.ok(
        "issuer",
        Call::CreateBatteryClass {
            class: sym("POOL-A"),
            name: text("Kwai Chung pool"),
            supply_max: Amount(100),
            batteries: vec![serial("B1"), serial("B2"), serial("B3")],
            revenue_currency: sym("HKD"),
        },
    );
    w.ok(
        "issuer",
        Call::IssueShares { class: sym("POOL-A"), to: account("alice"), amount: Amount(60) },
    );
    w.ok(
        "issuer",
        Call::IssueShares { class: sym("POOL-A"), to: account("bob"), amount: Amount(40) },
    );
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("fleet"), amount: Amount(100_000) },
    );
    let terms = lease_terms("POOL-A", "fleet");
    let lessee_signature = w.lessee_signs("fleet", &terms);
    w.ok("operator", Call::OpenLease { terms: terms.clone(), lessee_signature });
    w.ok("operator", Call::MoveCustody { serial: serial("B1"), to: Custody::Vehicle(sym(TAXI)) });
    (w, terms.id())
}

/// Registers battery B1 (owned by the operator) and creates POOL-A over it alone (10 shares,
/// revenue in HKD), with the operator's consent (the issuer is its delegate).
fn one_battery_class(w: &mut World) {
    register_battery(w, "B1");
    w.ok("operator", Call::SetDelegate { delegate: account("issuer"), allowed: true });
    w.ok(
        "issuer",
        Call::CreateBatteryClass {
            class: sym("POOL-A"),
            name: text("A"),
            supply_max: Amount(10),
            batteries: vec![serial("B1")],
            revenue_currency: sym("HKD"),
        },
    );
}

fn battery(w: &World, id: &str) -> Battery {
    w.state.record(&Key::Battery(serial(id))).unwrap().expect("battery exists")
}

fn station(w: &World) -> Station {
    w.state.record(&Key::Station(sym(STATION))).unwrap().expect("station exists")
}

fn record(w: &World, counter: u64) -> Option<AttestationRecord> {
    w.state.record(&Key::Attestation(sym(STATION), counter)).unwrap()
}

fn lease(w: &World, id: Hash) -> Lease {
    w.state.record(&Key::Lease(id)).unwrap().expect("lease exists")
}

fn claimable(w: &World, name: &str) -> Amount {
    let class = w.state.class(&sym("POOL-A")).unwrap().unwrap();
    let per_share = class.revenue.unwrap().per_share;
    let key = Key::Balance(Asset::Shares(sym("POOL-A")), account(name));
    let holding = w.state.record(&key).unwrap().unwrap_or_default();
    revenue::claimable(&holding, per_share).unwrap()
}

fn disputed(code: ErrorCode) -> TxOutcome {
    TxOutcome::Disputed(code)
}

fn failed(code: ErrorCode) -> TxOutcome {
    TxOutcome::Failed(code)
}

// ----- batteries -----

#[test]
fn battery_registration_is_unique_and_role_checked() {
    // Proves serials are unique and only operators or issuers register batteries.
    let (mut w, _) = bank();
    let call = Call::RegisterBattery {
        serial: serial("B1"),
        passport: passport("B1"),
        warehouse: sym("WH-1"),
    };
    assert_eq!(w.submit("operator", call).outcome, failed(ErrorCode::AlreadyExists));
    let call = Call::RegisterBattery {
        serial: serial("B7"),
        passport: passport("B7"),
        warehouse: sym("WH-1"),
    };
    assert_eq!(w.submit("alice", call.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("issuer", call).outcome, TxOutcome::Applied);
    let b7 = battery(&w, "B7");
    assert_eq!(b7.status, BatteryStatus::Original);
    assert_eq!(b7.custody, Custody::Warehouse(sym("WH-1")));
    assert_eq!(b7.health.soh_permille, 1_000);
    assert_eq!(b7.passport.rated_energy_wh, 52_000);
}

#[test]
fn passport_document_can_be_replaced_but_not_the_static_fields() {
    // Proves the document reference updates and the rest of the passport stays.
    let (mut w, _) = bank();
    let call = Call::UpdatePassportDocument {
        serial: serial("B9"),
        document_hash: Hash::of(b"v2"),
        document_uri: text("https://passport.example/B9/v2"),
    };
    assert_eq!(w.submit("operator", call).outcome, TxOutcome::Applied);
    let b9 = battery(&w, "B9");
    assert_eq!(b9.passport.document_hash, Hash::of(b"v2"));
    assert_eq!(b9.passport.chemistry, text("LFP"));
    let unknown = Call::UpdatePassportDocument {
        serial: serial("NOPE"),
        document_hash: Hash::ZERO,
        document_uri: text(""),
    };
    assert_eq!(w.submit("operator", unknown).outcome, failed(ErrorCode::UnknownBattery));
    // Another operator may not rewrite a battery it does not own.
    register_stranger_operator(&mut w, "operator2");
    let other = Call::UpdatePassportDocument {
        serial: serial("B9"),
        document_hash: Hash::of(b"forged"),
        document_uri: text("https://evil.example/B9"),
    };
    assert_eq!(w.submit("operator2", other).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(battery(&w, "B9").passport.document_hash, Hash::of(b"v2"));
}

#[test]
fn status_moves_forward_only_and_waste_is_terminal() {
    // Proves Original → second life → Waste, never backwards or sideways, Waste terminal.
    let (mut w, _) = bank();
    let set =
        |status, soh| Call::SetBatteryStatus { serial: serial("B9"), status, soh_permille: soh };
    // Only the owner (or its delegate) moves the status.
    register_stranger_operator(&mut w, "operator2");
    assert_eq!(
        w.submit("operator2", set(BatteryStatus::Waste, None)).outcome,
        failed(ErrorCode::NotOwner)
    );
    assert_eq!(
        w.submit("operator", set(BatteryStatus::Repurposed, None)).outcome,
        TxOutcome::Applied
    );
    assert_eq!(
        w.submit("operator", set(BatteryStatus::Original, None)).outcome,
        failed(ErrorCode::StatusBackwards)
    );
    assert_eq!(
        w.submit("operator", set(BatteryStatus::Reused, None)).outcome,
        failed(ErrorCode::StatusBackwards)
    );
    assert_eq!(w.submit("operator", set(BatteryStatus::Waste, None)).outcome, TxOutcome::Applied);
    assert_eq!(
        w.submit("operator", set(BatteryStatus::Waste, None)).outcome,
        failed(ErrorCode::StatusBackwards)
    );
    assert_eq!(
        w.submit("operator", set(BatteryStatus::Remanufactured, None)).outcome,
        failed(ErrorCode::StatusBackwards)
    );
    // Waste moves only to a recycler.
    let to_station = Call::MoveCustody { serial: serial("B9"), to: station_slot(5) };
    assert_eq!(w.submit("operator", to_station).outcome, failed(ErrorCode::BatteryRetired));
    let to_recycler =
        Call::MoveCustody { serial: serial("B9"), to: Custody::Recycler(sym("RC-1")) };
    assert_eq!(w.submit("operator", to_recycler).outcome, TxOutcome::Applied);
}

#[test]
fn only_remanufacturing_restores_health() {
    // Proves a state-of-health reset is allowed with Remanufactured and refused otherwise.
    let (mut w, _) = bank();
    let call = Call::SetBatteryStatus {
        serial: serial("B9"),
        status: BatteryStatus::Reused,
        soh_permille: Some(1_000),
    };
    assert_eq!(w.submit("operator", call).outcome, failed(ErrorCode::OutOfRange));
    let call = Call::SetBatteryStatus {
        serial: serial("B9"),
        status: BatteryStatus::Remanufactured,
        soh_permille: Some(1_001),
    };
    assert_eq!(w.submit("operator", call).outcome, failed(ErrorCode::OutOfRange));
    let call = Call::SetBatteryStatus {
        serial: serial("B9"),
        status: BatteryStatus::Remanufactured,
        soh_permille: Some(950),
    };
    assert_eq!(w.submit("operator", call).outcome, TxOutcome::Applied);
    assert_eq!(battery(&w, "B9").health.soh_permille, 950);
}

#[test]
fn leased_battery_cannot_be_scrapped() {
    // Proves Waste is refused while a lease is active (Waste blocks leases).
    let (mut w, _) = bank();
    let call = Call::SetBatteryStatus {
        serial: serial("B2"),
        status: BatteryStatus::Waste,
        soh_permille: None,
    };
    assert_eq!(w.submit("operator", call).outcome, failed(ErrorCode::BatteryLeased));
}

#[test]
fn logistics_moves_are_checked() {
    // Proves custody moves: the owner only, real station and slot, known vehicle, into a
    // vehicle only under a lease to its fleet, no no-op.
    let (mut w, _) = bank();
    let mv = |to| Call::MoveCustody { serial: serial("B9"), to };
    assert_eq!(w.submit("alice", mv(station_slot(2))).outcome, failed(ErrorCode::WrongRole));
    register_stranger_operator(&mut w, "operator2");
    assert_eq!(w.submit("operator2", mv(station_slot(2))).outcome, failed(ErrorCode::NotOwner));
    // B9 is under no lease: it cannot be put in the fleet's taxi.
    assert_eq!(
        w.submit("operator", mv(Custody::Vehicle(sym(TAXI)))).outcome,
        failed(ErrorCode::BatteryNotLeased)
    );
    assert_eq!(w.submit("operator", mv(station_slot(8))).outcome, failed(ErrorCode::OutOfRange));
    let elsewhere = Custody::Station { station: sym("HK-NOPE"), slot: 0 };
    assert_eq!(w.submit("operator", mv(elsewhere)).outcome, failed(ErrorCode::UnknownStation));
    assert_eq!(
        w.submit("operator", mv(Custody::Vehicle(sym("NOPE")))).outcome,
        failed(ErrorCode::UnknownVehicle)
    );
    assert_eq!(
        w.submit("operator", mv(Custody::Warehouse(sym("WH-1")))).outcome,
        failed(ErrorCode::NoChange)
    );
    assert_eq!(w.submit("operator", mv(station_slot(2))).outcome, TxOutcome::Applied);
    assert_eq!(battery(&w, "B9").custody, station_slot(2));
}

#[test]
fn battery_class_rules() {
    // Proves a battery belongs to one class at most, and a pool's list is checked.
    let (mut w, _) = bank();
    let class = |name: &str, list: &[&str], currency: &str| Call::CreateBatteryClass {
        class: sym(name),
        name: text(name),
        supply_max: Amount(10),
        batteries: list.iter().map(|s| serial(s)).collect(),
        revenue_currency: sym(currency),
    };
    assert_eq!(
        w.submit("issuer", class("POOL-B", &["B1"], "HKD")).outcome,
        failed(ErrorCode::BatteryInClass)
    );
    assert_eq!(
        w.submit("issuer", class("POOL-B", &["B9", "B9"], "HKD")).outcome,
        failed(ErrorCode::DuplicateBattery)
    );
    assert_eq!(
        w.submit("issuer", class("POOL-B", &["NOPE"], "HKD")).outcome,
        failed(ErrorCode::UnknownBattery)
    );
    assert_eq!(
        w.submit("issuer", class("POOL-B", &["B9"], "THB")).outcome,
        failed(ErrorCode::UnknownCurrency)
    );
    assert_eq!(
        w.submit("issuer", class("POOL-B", &[], "HKD")).outcome,
        failed(ErrorCode::ZeroAmount)
    );
    assert_eq!(
        w.submit("operator", class("POOL-B", &["B9"], "HKD")).outcome,
        failed(ErrorCode::WrongRole)
    );
    // An issuer the owner did not name its delegate may not put the battery in a class.
    let reg = Call::RegisterMember {
        account: account("issuer2"),
        role: Role::Issuer,
        identity_expiry: FAR_FUTURE,
    };
    w.ok("admin", reg);
    assert_eq!(
        w.submit("issuer2", class("POOL-B", &["B9"], "HKD")).outcome,
        failed(ErrorCode::NotOwner)
    );
    assert_eq!(w.submit("issuer", class("POOL-B", &["B9"], "HKD")).outcome, TxOutcome::Applied);
    assert_eq!(battery(&w, "B9").class, Some(sym("POOL-B")));
}

#[test]
fn battery_ownership_moves_only_when_the_receiver_accepts() {
    // Proves TransferBattery: the owner itself (not its delegate) offers to an operator or
    // issuer and may withdraw the offer; nothing moves until that account accepts; then the
    // old owner may no longer act on the battery.
    let (mut w, _) = bank();
    register_stranger_operator(&mut w, "operator2");
    let offer = |to: &str| Call::TransferBattery { serial: serial("B9"), to: account(to) };
    assert_eq!(w.submit("alice", offer("alice")).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator2", offer("operator2")).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator", offer("alice")).outcome, failed(ErrorCode::WrongRole));
    // The issuer acts for the operator on its batteries, but may not give them away.
    assert_eq!(w.submit("issuer", offer("operator2")).outcome, failed(ErrorCode::NotOwner));
    // Offering to itself withdraws an offer; with none standing, it changes nothing.
    assert_eq!(w.submit("operator", offer("operator")).outcome, failed(ErrorCode::NoChange));
    assert_eq!(w.submit("operator", offer("operator2")).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("operator", offer("operator")).outcome, TxOutcome::Applied);
    assert_eq!(battery(&w, "B9").offered_to, None);
    assert_eq!(w.submit("operator2", offer("operator2")).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator", offer("operator2")).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("operator", offer("operator2")).outcome, failed(ErrorCode::NoChange));
    let b9 = battery(&w, "B9");
    assert_eq!((b9.owner, b9.offered_to), (account("operator"), Some(account("operator2"))));
    let mv = |to: &str| Call::MoveCustody { serial: serial("B9"), to: Custody::Warehouse(sym(to)) };
    assert_eq!(w.submit("operator2", mv("WH-2")).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator2", offer("operator2")).outcome, TxOutcome::Applied);
    let b9 = battery(&w, "B9");
    assert_eq!((b9.owner, b9.offered_to), (account("operator2"), None));
    assert_eq!(w.submit("operator", mv("WH-3")).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator2", mv("WH-2")).outcome, TxOutcome::Applied);
    invariants::check(&w.state).unwrap();
}

#[test]
fn delegations_are_granted_and_withdrawn_by_the_delegator() {
    // Proves SetDelegate: operators and issuers only, to another operator or issuer that is a
    // member, no no-op; a withdrawn delegate can no longer act on the delegator's batteries.
    let (mut w, _) = bank();
    let delegate = |to: &str, allowed| Call::SetDelegate { delegate: account(to), allowed };
    assert_eq!(w.submit("alice", delegate("issuer", true)).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(
        w.submit("operator", delegate("operator", true)).outcome,
        failed(ErrorCode::SelfTransfer)
    );
    assert_eq!(w.submit("operator", delegate("alice", true)).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(
        w.submit("operator", delegate("stranger", true)).outcome,
        failed(ErrorCode::UnknownAccount)
    );
    assert_eq!(w.submit("operator", delegate("issuer", true)).outcome, failed(ErrorCode::NoChange));
    let mv = |to| Call::MoveCustody { serial: serial("B9"), to };
    assert_eq!(w.submit("issuer", mv(station_slot(5))).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("operator", delegate("issuer", false)).outcome, TxOutcome::Applied);
    assert_eq!(
        w.submit("operator", delegate("issuer", false)).outcome,
        failed(ErrorCode::NoChange)
    );
    let back = mv(Custody::Warehouse(sym("WH-1")));
    assert_eq!(w.submit("issuer", back.clone()).outcome, failed(ErrorCode::NotOwner));
    assert_eq!(w.submit("operator", back).outcome, TxOutcome::Applied);
}

// ----- stations -----

#[test]
fn station_registration_checks_key_cut_and_uniqueness() {
    // Proves station registration refuses weak keys, bad cuts, duplicates and other roles.
    let (mut w, _) = bank();
    let reg = |id: &str, controller: AccountId, cut| Call::RegisterStation {
        station: sym(id),
        controller,
        location: text("Sha Tin"),
        slots: 4,
        operator_cut_bps: cut,
    };
    let mut weak = [0u8; 32];
    weak[0] = 1;
    assert_eq!(
        w.submit("operator", reg("HK-ST-002", AccountId(weak), 0)).outcome,
        failed(ErrorCode::BadKey)
    );
    assert_eq!(
        w.submit("operator", reg("HK-ST-002", account("c2"), 10_001)).outcome,
        failed(ErrorCode::OutOfRange)
    );
    assert_eq!(
        w.submit("alice", reg("HK-ST-002", account("c2"), 0)).outcome,
        failed(ErrorCode::WrongRole)
    );
    assert_eq!(
        w.submit("operator", reg(STATION, account("c2"), 0)).outcome,
        failed(ErrorCode::AlreadyExists)
    );
    assert_eq!(
        w.submit("operator", reg("HK-ST-002", account("c2"), 500)).outcome,
        TxOutcome::Applied
    );
}

#[test]
fn rotated_key_replaces_the_old_one_at_once() {
    // Proves after a rotation the old controller key no longer verifies and the new one does.
    let (mut w, _) = bank();
    let rotate =
        Call::RotateStationKey { station: sym(STATION), controller: account("controller-2") };
    assert_eq!(w.submit("alice", rotate.clone()).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("operator", rotate).outcome, TxOutcome::Applied);
    let old = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 100));
    assert_eq!(w.submit("alice", old).outcome, failed(ErrorCode::BadAttestationSignature));
    assert_eq!(station(&w).counter, 0);
    let new = w.swap_call("controller-2", swap(STATION, 1, TAXI, "B1", "B2", 100));
    assert_eq!(w.submit("alice", new).outcome, TxOutcome::Applied);
}

#[test]
fn decommissioned_station_cannot_attest() {
    // Proves a decommissioned station's attestations are refused.
    let (mut w, _) = bank();
    let call = Call::DecommissionStation { station: sym(STATION) };
    assert_eq!(w.submit("operator", call.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("operator", call).outcome, failed(ErrorCode::StationInactive));
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 100));
    assert_eq!(w.submit("alice", att).outcome, failed(ErrorCode::StationInactive));
    let unknown = w.swap_call(CONTROLLER, swap("HK-NOPE", 1, TAXI, "B1", "B2", 100));
    assert_eq!(w.submit("alice", unknown).outcome, failed(ErrorCode::UnknownStation));
}

#[test]
fn vehicles_need_a_verified_fleet() {
    // Proves vehicle registration: signed by the fleet that will pay, unique, and only by an
    // account that can pay (no auditor, station or admin; not while frozen).
    let (mut w, _) = bank();
    let reg = |v: &str| Call::RegisterVehicle { vehicle: sym(v) };
    assert_eq!(w.submit("fleet", reg(TAXI)).outcome, failed(ErrorCode::AlreadyExists));
    // Nobody registers a vehicle for someone else: the taxi stays the fleet's.
    assert_eq!(w.submit("alice", reg(TAXI)).outcome, failed(ErrorCode::AlreadyExists));
    assert_eq!(w.submit("auditor", reg("TAXI-2")).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("station", reg("TAXI-2")).outcome, failed(ErrorCode::WrongRole));
    assert_eq!(w.submit("admin", reg("TAXI-2")).outcome, failed(ErrorCode::WrongRole));
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("kyc") });
    assert_eq!(w.submit("fleet", reg("TAXI-2")).outcome, failed(ErrorCode::SignerFrozen));
    w.ok("admin", Call::Unfreeze { account: account("fleet") });
    assert_eq!(w.submit("fleet", reg("TAXI-2")).outcome, TxOutcome::Applied);
    let taxi: Vehicle = w.state.record(&Key::Vehicle(sym("TAXI-2"))).unwrap().unwrap();
    assert_eq!(taxi.fleet, account("fleet"));
    invariants::check(&w.state).unwrap();
}

// ----- swaps -----

#[test]
fn swap_moves_custody_updates_health_mints_receipt_and_pays_holders() {
    // Proves every effect of a settled swap, and that holders then claim pro rata.
    let (mut w, _) = bank();
    let fleet_before = w.balance(&hkd(), "fleet");
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    // Any member may relay a station's attestation.
    assert_eq!(w.submit("bob", att).outcome, TxOutcome::Applied);
    let (b1, b2) = (battery(&w, "B1"), battery(&w, "B2"));
    assert_eq!(b1.custody, station_slot(0), "the returned battery takes the freed slot");
    assert_eq!(b2.custody, Custody::Vehicle(sym(TAXI)));
    assert_eq!(b1.health.soc_permille, 120);
    assert_eq!(b1.health.soh_permille, 990);
    assert_eq!(b1.health.full_cycles, 10);
    assert_eq!(b1.health.energy_throughput_wh, 40_000);
    assert_eq!(b2.last_attestation, Some((sym(STATION), 1)));
    let AttestationEffect::Swap(receipt) = record(&w, 1).unwrap().effect else {
        panic!("not settled")
    };
    assert_eq!(receipt.class, sym("POOL-A"));
    assert_eq!(receipt.fee, Amount(1_000));
    assert_eq!(receipt.operator_cut, Amount(100));
    assert_eq!(receipt.payer, account("fleet"));
    assert_eq!(w.balance(&hkd(), "fleet"), Amount(fleet_before.0 - 1_000));
    assert_eq!(w.balance(&hkd(), "operator"), Amount(100));
    let s = station(&w);
    assert_eq!((s.counter, s.swaps, s.energy_wh), (1, 1, 40_000));
    let hkd_totals = &s.totals[&sym("HKD")];
    assert_eq!((hkd_totals.fees, hkd_totals.operator_cut), (Amount(1_000), Amount(100)));
    assert_eq!(s.totals.len(), 1, "one currency was paid");
    // 900 to the pool: alice 60 %, bob 40 %.
    assert_eq!(claimable(&w, "alice"), Amount(540));
    assert_eq!(claimable(&w, "bob"), Amount(360));
    assert_eq!(
        w.submit("alice", Call::ClaimRevenue { class: sym("POOL-A") }).outcome,
        TxOutcome::Applied
    );
    assert_eq!(w.balance(&hkd(), "alice"), Amount(540));
    invariants::check(&w.state).unwrap();
}

#[test]
fn identical_resubmission_is_a_duplicate_not_a_loss() {
    // Proves a relay resubmitting the same attestation gets DuplicateAttestation, nothing twice.
    let (mut w, _) = bank();
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("bob", att.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("alice", att).outcome, failed(ErrorCode::DuplicateAttestation));
    assert_eq!(station(&w).counter, 1);
    assert_eq!(w.balance(&hkd(), "operator"), Amount(100));
}

#[test]
fn different_attestation_for_a_used_counter_is_kept_as_evidence() {
    // Proves a conflicting attestation is recorded as evidence and changes nothing else.
    let (mut w, _) = bank();
    let first = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("bob", first).outcome, TxOutcome::Applied);
    let other = swap(STATION, 1, TAXI, "B1", "B3", 1);
    let id = Attestation::Swap(other.clone()).id();
    let conflict = w.swap_call(CONTROLLER, other);
    assert_eq!(w.submit("bob", conflict.clone()).outcome, disputed(ErrorCode::AttestationConflict));
    let evidence: Evidence = w.state.record(&Key::Evidence(sym(STATION), 1, id)).unwrap().unwrap();
    assert_eq!(evidence.attestation.counter(), 1);
    assert_eq!(w.submit("bob", conflict).outcome, failed(ErrorCode::DuplicateAttestation));
    assert_eq!(battery(&w, "B3").custody, station_slot(1));
    invariants::check(&w.state).unwrap();
}

#[test]
fn counter_gap_is_refused_until_the_missing_one_arrives() {
    // Proves counter == last + 1: a skipped counter fails and can be resubmitted later.
    let (mut w, _) = bank();
    let second = w.swap_call(CONTROLLER, swap(STATION, 2, TAXI, "B2", "B3", 500));
    assert_eq!(w.submit("bob", second.clone()).outcome, failed(ErrorCode::CounterGap));
    let first = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 500));
    assert_eq!(w.submit("bob", first).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("bob", second).outcome, TxOutcome::Applied);
    assert_eq!(station(&w).counter, 2);
    let zero = w.swap_call(CONTROLLER, swap(STATION, 0, TAXI, "B1", "B2", 500));
    assert_eq!(w.submit("bob", zero).outcome, failed(ErrorCode::OutOfRange));
}

#[test]
fn bad_attestation_signature_is_refused_without_advancing() {
    // Proves an attestation signed by another key is not recorded at all.
    let (mut w, _) = bank();
    let forged = w.swap_call("mallory", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("bob", forged).outcome, failed(ErrorCode::BadAttestationSignature));
    assert_eq!(station(&w).counter, 0);
    assert!(record(&w, 1).is_none());
}

/// Submits a swap that must be recorded as disputed for `code`, and checks that only the
/// counter and the record changed (balances, custody and revenue untouched).
fn assert_disputed(w: &mut World, att: volt_proto::SwapAttestation, code: ErrorCode) {
    let counter = att.counter;
    let fleet = w.balance(&hkd(), "fleet");
    let b1 = battery(w, "B1");
    let call = w.swap_call(CONTROLLER, att);
    assert_eq!(w.submit("bob", call).outcome, disputed(code));
    assert_eq!(station(w).counter, counter);
    assert_eq!(station(w).disputed, counter);
    assert_eq!(record(w, counter).unwrap().effect, AttestationEffect::Disputed(code));
    assert_eq!(w.balance(&hkd(), "fleet"), fleet);
    assert_eq!(battery(w, "B1"), b1);
    invariants::check(&w.state).unwrap();
}

#[test]
fn swaps_that_conflict_with_the_ledger_are_recorded_as_disputed() {
    // Proves each dispute reason advances the counter and has no other effect.
    let (mut w, _) = bank();
    assert_disputed(&mut w, swap(STATION, 1, TAXI, "B1", "NOPE", 100), ErrorCode::UnknownBattery);
    assert_disputed(
        &mut w,
        swap(STATION, 2, "TAXI-404", "B1", "B2", 100),
        ErrorCode::UnknownVehicle,
    );
    // B3 is in the station, not in the taxi.
    assert_disputed(&mut w, swap(STATION, 3, TAXI, "B3", "B2", 100), ErrorCode::WrongCustody);
    // B9 belongs to no class and has no lease.
    w.ok("operator", Call::MoveCustody { serial: serial("B9"), to: station_slot(4) });
    assert_disputed(&mut w, swap(STATION, 4, TAXI, "B1", "B9", 100), ErrorCode::BatteryNotLeased);
    assert_disputed(
        &mut w,
        swap(STATION, 5, TAXI, "B1", "B2", FEE_PER_SWAP_MAX),
        ErrorCode::PayerShortOfFunds,
    );
    let mut thb = swap(STATION, 6, TAXI, "B1", "B2", 100);
    thb.currency = sym("THB");
    assert_disputed(&mut w, thb, ErrorCode::CurrencyMismatch);
    let mut bad = swap(STATION, 7, TAXI, "B1", "B2", 100);
    bad.battery_in.soc_permille = 1_001;
    assert_disputed(&mut w, bad, ErrorCode::OutOfRange);
    assert_disputed(&mut w, swap(STATION, 8, TAXI, "B1", "B1", 100), ErrorCode::DuplicateBattery);
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("kyc") });
    assert_disputed(&mut w, swap(STATION, 9, TAXI, "B1", "B2", 100), ErrorCode::PayerNotAllowed);
    w.ok("admin", Call::Unfreeze { account: account("fleet") });
    // A fee over what the fleet agreed to in the lease's tariff is not charged.
    assert_disputed(
        &mut w,
        swap(STATION, 10, TAXI, "B1", "B2", FEE_PER_SWAP_MAX + 1),
        ErrorCode::FeeAboveTariff,
    );
    // After all of that, the station still works.
    let good = w.swap_call(CONTROLLER, swap(STATION, 11, TAXI, "B1", "B2", 100));
    assert_eq!(w.submit("bob", good).outcome, TxOutcome::Applied);
}

#[test]
fn swap_of_a_retired_or_unclassed_battery_is_disputed() {
    // Proves Waste blocks swaps, and a battery with no share class cannot be credited.
    let (mut w, lease_id) = bank();
    w.ok("fleet", Call::PayRent { lease: lease_id, periods: 1 });
    w.ok("fleet", Call::CloseLease { lease: lease_id });
    let waste = Call::SetBatteryStatus {
        serial: serial("B3"),
        status: BatteryStatus::Waste,
        soh_permille: None,
    };
    w.ok("operator", waste);
    assert_disputed(&mut w, swap(STATION, 1, TAXI, "B1", "B3", 100), ErrorCode::BatteryRetired);
}

#[test]
fn health_never_rises_and_cycles_never_fall_through_attestations() {
    // Proves attested readings cannot improve the recorded health.
    let (mut w, _) = bank();
    let first = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 10));
    w.ok("bob", first);
    let mut back = swap(STATION, 2, TAXI, "B2", "B1", 10);
    back.battery_out = reading("B2", 999, 3); // claims better health and fewer cycles
    back.battery_in = reading("B1", 995, 12);
    let call = w.swap_call(CONTROLLER, back);
    w.ok("bob", call);
    let b2 = battery(&w, "B2");
    assert_eq!((b2.health.soh_permille, b2.health.full_cycles), (990, 10));
    let b1 = battery(&w, "B1");
    assert_eq!((b1.health.soh_permille, b1.health.full_cycles), (990, 12));
}

// ----- energy events -----

fn energy(counter: u64, battery: &str, payment: u128, payer: &str) -> EnergyAttestation {
    EnergyAttestation {
        station: sym(STATION),
        counter,
        station_time: Timestamp(0),
        battery: serial(battery),
        energy_wh: 12_000,
        payer: account(payer),
        payment: Amount(payment),
        currency: sym("HKD"),
    }
}

fn energy_call(w: &World, e: EnergyAttestation) -> Call {
    let attestation = Attestation::Energy(e);
    let signature = w.attest(CONTROLLER, &attestation);
    Call::SubmitAttestation { attestation, signature }
}

#[test]
fn energy_export_pays_the_battery_class() {
    // Proves a V2G/stationary export credits the battery's class and counts toward the station.
    let (mut w, _) = bank();
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("operator"), amount: Amount(10_000) },
    );
    let call = energy_call(&w, energy(1, "B2", 2_000, "operator"));
    assert_eq!(w.submit("alice", call.clone()).outcome, failed(ErrorCode::NotPayer));
    assert_eq!(w.submit("operator", call).outcome, TxOutcome::Applied);
    assert_eq!(battery(&w, "B2").health.energy_throughput_wh, 12_000);
    // 10 % operator cut comes back to the operator (it paid): 1,800 reaches the pool.
    assert_eq!(claimable(&w, "alice"), Amount(1_080));
    let s = station(&w);
    assert_eq!((s.counter, s.swaps, s.energy_wh), (1, 0, 12_000));
    // A battery in a vehicle is not at the station: disputed.
    let away = energy_call(&w, energy(2, "B1", 2_000, "operator"));
    assert_eq!(w.submit("operator", away).outcome, disputed(ErrorCode::WrongCustody));
    invariants::check(&w.state).unwrap();
}

// ----- leases -----

#[test]
fn lease_opens_with_deposit_in_escrow_and_one_lease_per_battery() {
    // Proves the deposit is escrowed, batteries point at the lease, a second lease is refused.
    let (mut w, lease_id) = bank();
    assert_eq!(w.balance(&hkd(), "fleet"), Amount(100_000 - DEPOSIT));
    assert_eq!(lease(&w, lease_id).deposit_held, Amount(DEPOSIT));
    assert_eq!(battery(&w, "B2").lease, Some(lease_id));
    let mut terms = lease_terms("POOL-A", "alice");
    terms.deposit = Amount(0);
    let sig = w.lessee_signs("alice", &terms);
    let again = Call::OpenLease { terms, lessee_signature: sig };
    assert_eq!(w.submit("operator", again).outcome, failed(ErrorCode::BatteryLeased));
    invariants::check(&w.state).unwrap();
}

#[test]
fn lease_needs_the_lessee_signature_and_the_lessor() {
    // Proves the lessor cannot open a lease the lessee did not sign, and only the class's
    // issuer (the lessor the terms name) opens it: not an investor, not another operator.
    let mut w = World::new(&["fleet", "alice"]);
    one_battery_class(&mut w);
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("fleet"), amount: Amount(DEPOSIT) },
    );
    let terms = lease_terms("POOL-A", "fleet");
    let wrong = w.lessee_signs("alice", &terms);
    let call = Call::OpenLease { terms: terms.clone(), lessee_signature: wrong };
    assert_eq!(w.submit("issuer", call).outcome, failed(ErrorCode::BadLesseeSignature));
    let sig = w.lessee_signs("fleet", &terms);
    let call = Call::OpenLease { terms: terms.clone(), lessee_signature: sig };
    assert_eq!(w.submit("alice", call.clone()).outcome, failed(ErrorCode::WrongRole));
    // The operator owns the battery but is not the issuer's delegate here.
    assert_eq!(w.submit("operator", call.clone()).outcome, failed(ErrorCode::NotOwner));
    let mut other_lessor = terms.clone();
    other_lessor.lessor = account("operator");
    let sig_other = w.lessee_signs("fleet", &other_lessor);
    let open_other = Call::OpenLease { terms: other_lessor, lessee_signature: sig_other };
    assert_eq!(w.submit("operator", open_other).outcome, failed(ErrorCode::NotLessorOfTerms));
    let mut bad = terms.clone();
    bad.period_ms = 0;
    let sig_bad = w.lessee_signs("fleet", &bad);
    assert_eq!(
        w.submit("issuer", Call::OpenLease { terms: bad, lessee_signature: sig_bad }).outcome,
        failed(ErrorCode::OutOfRange)
    );
    assert_eq!(w.submit("issuer", call.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.submit("issuer", call).outcome, failed(ErrorCode::AlreadyExists));
}

#[test]
fn rent_goes_to_the_holders_and_cannot_exceed_the_term() {
    // Proves rent payments feed the class revenue as each paid period starts (rent paid
    // ahead waits in escrow) and stop at the term.
    let (mut w, lease_id) = bank();
    w.ok("fleet", Call::PayRent { lease: lease_id, periods: 3 });
    // The first period has started: its rent reaches the holders; two wait in escrow.
    assert_eq!(claimable(&w, "alice"), Amount(RENT * 60 / 100));
    assert_eq!(lease(&w, lease_id).rent_held, Amount(2 * RENT));
    let settle = Call::SettleLease { lease: lease_id };
    assert_eq!(w.submit("bob", settle.clone()).outcome, failed(ErrorCode::NothingToRelease));
    // A day later the second period starts: anyone may credit its rent.
    w.next.time = Timestamp(w.next.time.0 + DAY_MS);
    assert_eq!(w.submit("bob", settle).outcome, TxOutcome::Applied);
    assert_eq!(claimable(&w, "alice"), Amount(2 * RENT * 60 / 100));
    assert_eq!(lease(&w, lease_id).rent_held, Amount(RENT));
    let beyond = Call::PayRent { lease: lease_id, periods: 28 };
    assert_eq!(w.submit("fleet", beyond).outcome, failed(ErrorCode::RentBeyondTerm));
    assert_eq!(
        w.submit("fleet", Call::PayRent { lease: lease_id, periods: 0 }).outcome,
        failed(ErrorCode::ZeroAmount)
    );
    let unknown = Call::PayRent { lease: Hash::ZERO, periods: 1 };
    assert_eq!(w.submit("fleet", unknown).outcome, failed(ErrorCode::UnknownLease));
    assert_eq!(lease(&w, lease_id).periods_paid, 3);
    invariants::check(&w.state).unwrap();
}

#[test]
fn only_the_lessee_extends() {
    // Proves the lessor cannot change a running lease alone, and the lessee extends only
    // within the cap the terms set.
    let (mut w, lease_id) = bank();
    let extend = Call::ExtendLease { lease: lease_id, periods: EXTENSION_PERIODS_MAX };
    assert_eq!(w.submit("operator", extend.clone()).outcome, failed(ErrorCode::NotLessee));
    assert_eq!(w.submit("issuer", extend.clone()).outcome, failed(ErrorCode::NotLessee));
    assert_eq!(w.submit("fleet", extend).outcome, TxOutcome::Applied);
    assert_eq!(lease(&w, lease_id).periods_total, 30 + EXTENSION_PERIODS_MAX);
    let one_more = Call::ExtendLease { lease: lease_id, periods: 1 };
    assert_eq!(
        w.submit("fleet", one_more.clone()).outcome,
        failed(ErrorCode::ExtensionCapExceeded)
    );
    assert_eq!(lease(&w, lease_id).periods_total, 30 + EXTENSION_PERIODS_MAX);
    // Once the (extended) term is over, the lessee cannot extend alone any more.
    w.next.time = Timestamp(w.next.time.0 + 40 * DAY_MS);
    assert_eq!(w.submit("fleet", one_more).outcome, failed(ErrorCode::TermOver));
}

#[test]
fn close_returns_the_deposit_only_with_rent_paid() {
    // Proves closing: the lessee needs rent paid up; the lessor (or its delegate) may not
    // close before the term ends; nobody else may close at all.
    let (mut w, lease_id) = bank();
    let close = Call::CloseLease { lease: lease_id };
    assert_eq!(w.submit("fleet", close.clone()).outcome, failed(ErrorCode::RentOutstanding));
    assert_eq!(w.submit("issuer", close.clone()).outcome, failed(ErrorCode::TermNotOver));
    assert_eq!(w.submit("operator", close.clone()).outcome, failed(ErrorCode::TermNotOver));
    assert_eq!(w.submit("alice", close.clone()).outcome, failed(ErrorCode::NotLessee));
    w.ok("fleet", Call::PayRent { lease: lease_id, periods: 1 });
    let before = w.balance(&hkd(), "fleet");
    assert_eq!(w.submit("fleet", close.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "fleet"), Amount(before.0 + DEPOSIT));
    assert_eq!(battery(&w, "B2").lease, None);
    assert_eq!(w.submit("fleet", close).outcome, failed(ErrorCode::LeaseNotActive));
    // A closed lease no longer covers swaps.
    assert_disputed(&mut w, swap(STATION, 1, TAXI, "B1", "B2", 10), ErrorCode::BatteryNotLeased);
}

#[test]
fn a_deposit_the_lessee_cannot_receive_waits_in_escrow() {
    // Proves the lessor closes at the term's end even while the lessee is frozen: the rent is
    // credited, the deposit stays in escrow, and anyone releases it once the lessee can receive.
    let (mut w, lease_id) = bank();
    let release = Call::ReleaseDeposit { lease: lease_id };
    assert_eq!(w.submit("bob", release.clone()).outcome, failed(ErrorCode::LeaseNotActive));
    w.ok("fleet", Call::PayRent { lease: lease_id, periods: 30 });
    w.next.time = Timestamp(w.next.time.0 + 30 * DAY_MS);
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("kyc") });
    let fleet_before = w.balance(&hkd(), "fleet");
    w.ok("operator", Call::CloseLease { lease: lease_id });
    let closed = lease(&w, lease_id);
    assert_eq!((closed.rent_held, closed.deposit_held), (Amount(0), Amount(DEPOSIT)));
    assert_eq!(claimable(&w, "alice"), Amount(30 * RENT * 60 / 100));
    assert_eq!(w.balance(&hkd(), "fleet"), fleet_before);
    invariants::check(&w.state).unwrap();
    assert_eq!(w.submit("bob", release.clone()).outcome, failed(ErrorCode::ReceiverFrozen));
    w.ok("admin", Call::Unfreeze { account: account("fleet") });
    assert_eq!(w.submit("bob", release.clone()).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "fleet"), Amount(fleet_before.0 + DEPOSIT));
    assert_eq!(w.submit("bob", release).outcome, failed(ErrorCode::NothingToRelease));
    let unknown = Call::ReleaseDeposit { lease: Hash::ZERO };
    assert_eq!(w.submit("bob", unknown).outcome, failed(ErrorCode::UnknownLease));
    invariants::check(&w.state).unwrap();
}

#[test]
fn offers_lapse_and_an_early_close_costs_the_notice() {
    // Proves a lessee's offer cannot be used after its expiry, and a lessee closing before the
    // term ends first pays the periods started plus the notice the terms set.
    let mut w = World::new(&["fleet"]);
    one_battery_class(&mut w);
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("fleet"), amount: Amount(100_000) },
    );
    let mut lapsed = lease_terms("POOL-A", "fleet");
    lapsed.offer_expiry = Timestamp(w.next.time.0 - 1);
    let sig = w.lessee_signs("fleet", &lapsed);
    let open = Call::OpenLease { terms: lapsed, lessee_signature: sig };
    assert_eq!(w.submit("issuer", open).outcome, failed(ErrorCode::OfferExpired));
    let mut terms = lease_terms("POOL-A", "fleet");
    terms.notice_periods = 2;
    let sig = w.lessee_signs("fleet", &terms);
    w.ok("issuer", Call::OpenLease { terms: terms.clone(), lessee_signature: sig });
    let id = terms.id();
    w.ok("fleet", Call::PayRent { lease: id, periods: 1 });
    let close = Call::CloseLease { lease: id };
    assert_eq!(w.submit("fleet", close.clone()).outcome, failed(ErrorCode::RentOutstanding));
    w.ok("fleet", Call::PayRent { lease: id, periods: 2 });
    assert_eq!(w.submit("fleet", close).outcome, TxOutcome::Applied);
    let closed = lease(&w, id);
    assert_eq!((closed.periods_released, closed.rent_held), (3, Amount(0)));
    assert_eq!(w.balance(&hkd(), "fleet"), Amount(100_000 - 3 * RENT));
    invariants::check(&w.state).unwrap();
}

#[test]
fn default_only_after_the_grace_period_and_the_deposit_goes_to_holders() {
    // Proves default timing uses block time only and forfeits the deposit to the class.
    let (mut w, lease_id) = bank();
    let default = Call::DefaultLease { lease: lease_id };
    assert_eq!(w.submit("fleet", default.clone()).outcome, failed(ErrorCode::NotLessor));
    assert_eq!(
        w.submit("operator", default.clone()).outcome,
        failed(ErrorCode::LeaseInGoodStanding)
    );
    // Jump block time past the first period's grace (3 days).
    w.next.time = Timestamp(w.next.time.0 + 3 * DAY_MS + 1);
    assert_eq!(w.submit("operator", default).outcome, TxOutcome::Applied);
    assert_eq!(claimable(&w, "alice"), Amount(DEPOSIT * 60 / 100));
    assert_eq!(battery(&w, "B2").lease, None);
    invariants::check(&w.state).unwrap();
}

#[test]
fn lease_survives_share_transfers() {
    // Proves a lease names the class, not its holders: selling every share changes nothing.
    let (mut w, lease_id) = bank();
    let shares = Asset::Shares(sym("POOL-A"));
    w.ok("alice", Call::Transfer { asset: shares.clone(), to: account("bob"), amount: Amount(60) });
    assert_eq!(lease(&w, lease_id).status, volt_token::keys::LeaseStatus::Active);
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("bob", att).outcome, TxOutcome::Applied);
    assert_eq!(claimable(&w, "bob"), Amount(900));
}

// ----- revenue -----

#[test]
fn revenue_follows_the_balance_held_when_it_arrived() {
    // Proves settlement before transfers: revenue before a sale stays with the seller.
    let (mut w, _) = bank();
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("operator"), amount: Amount(10_000) },
    );
    w.ok("operator", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(1_000) });
    let shares = Asset::Shares(sym("POOL-A"));
    w.ok("alice", Call::Transfer { asset: shares, to: account("bob"), amount: Amount(60) });
    w.ok("operator", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(1_000) });
    assert_eq!(claimable(&w, "alice"), Amount(600));
    assert_eq!(claimable(&w, "bob"), Amount(400 + 1_000));
    invariants::check(&w.state).unwrap();
}

#[test]
fn revenue_with_no_shares_outstanding_is_held_not_lost() {
    // Proves a deposit to a class with no holders is held for the unissued shares and paid
    // pro rata as they are issued (4 of 10 shares take 4/10 of it), never lost.
    let mut w = World::new(&["alice"]);
    one_battery_class(&mut w);
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("operator"), amount: Amount(1_000) },
    );
    w.ok("operator", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(300) });
    let held = |w: &World| w.state.class(&sym("POOL-A")).unwrap().unwrap().revenue.unwrap().held;
    assert_eq!(held(&w), Amount(300));
    let issue =
        |n| Call::IssueShares { class: sym("POOL-A"), to: account("alice"), amount: Amount(n) };
    w.ok("issuer", issue(4));
    assert_eq!(claimable(&w, "alice"), Amount(120));
    assert_eq!(held(&w), Amount(180));
    // A later deposit is shared by the shares outstanding; the held rest stays held.
    w.ok("operator", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(100) });
    assert_eq!(claimable(&w, "alice"), Amount(220));
    assert_eq!(held(&w), Amount(180));
    w.ok("issuer", issue(6));
    assert_eq!(held(&w), Amount(0));
    assert_eq!(claimable(&w, "alice"), Amount(400));
    invariants::check(&w.state).unwrap();
}

#[test]
fn claim_and_deposit_refusals() {
    // Proves claims with nothing accrued, deposits to plain classes and by auditors fail.
    let (mut w, _) = bank();
    let claim = Call::ClaimRevenue { class: sym("POOL-A") };
    assert_eq!(w.submit("alice", claim).outcome, failed(ErrorCode::NothingToClaim));
    w.ok(
        "issuer",
        Call::CreateClass { class: sym("PLAIN"), name: text("plain"), supply_max: Amount(5) },
    );
    w.ok("issuer", Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(50) });
    let deposit = Call::DepositRevenue { class: sym("PLAIN"), amount: Amount(10) };
    assert_eq!(w.submit("alice", deposit).outcome, failed(ErrorCode::NoRevenue));
    let deposit = Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(10) };
    assert_eq!(w.submit("auditor", deposit).outcome, failed(ErrorCode::WrongRole));
    let claim = Call::ClaimRevenue { class: sym("POOL-A") };
    assert_eq!(w.submit("auditor", claim).outcome, failed(ErrorCode::WrongRole));
}

#[test]
fn recovery_moves_accrued_revenue_with_the_shares() {
    // Proves a recovered wallet keeps the revenue its lost key had accrued.
    let (mut w, _) = bank();
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    w.ok("bob", att);
    let recover = Call::RecoverWallet {
        lost: account("alice"),
        new: account("alice-new"),
        identity_expiry: None,
        reason: text("lost"),
    };
    w.ok("admin", recover);
    assert_eq!(claimable(&w, "alice-new"), Amount(540));
    w.ok("alice-new", Call::ClaimRevenue { class: sym("POOL-A") });
    assert_eq!(w.balance(&hkd(), "alice-new"), Amount(540));
    invariants::check(&w.state).unwrap();
    let _ = (FAR_FUTURE, Role::Investor, Symbol::new("X"));
}

#[test]
fn recovery_hands_over_issuer_operator_fleet_and_lessee_roles() {
    // Proves a recovered key inherits every role its records named: issuing (and the lessor
    // side of the class's lease), operating a station, owning batteries, paying for vehicles,
    // and the lessee side of a lease.
    let (mut w, lease_id) = bank();
    for (lost, new) in
        [("issuer", "issuer-new"), ("operator", "operator-new"), ("fleet", "fleet-new")]
    {
        let call = Call::RecoverWallet {
            lost: account(lost),
            new: account(new),
            identity_expiry: None,
            reason: text("lost"),
        };
        w.ok("admin", call);
    }
    for id in ["B1", "B2", "B3", "B9"] {
        assert_eq!(battery(&w, id).owner, account("operator-new"));
    }
    w.ok(
        "issuer-new",
        Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(1) },
    );
    w.ok(
        "operator-new",
        Call::RotateStationKey { station: sym(STATION), controller: account("c-new") },
    );
    // The fleet's vehicles and lease follow it: the swap charges the new key.
    let att = w.swap_call("c-new", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("bob", att).outcome, TxOutcome::Applied);
    assert_eq!(w.balance(&hkd(), "fleet-new"), Amount(100_000 - DEPOSIT - 1_000));
    assert_eq!(lease(&w, lease_id).lessee, account("fleet-new"));
    assert_eq!(lease(&w, lease_id).lessor, account("issuer-new"));
    w.ok("fleet-new", Call::PayRent { lease: lease_id, periods: 1 });
    w.ok("fleet-new", Call::CloseLease { lease: lease_id });
    assert_eq!(w.balance(&hkd(), "fleet-new"), Amount(100_000 - 2_000));
    // The class's issuer role followed too: the new key is the lessor of its next lease (the
    // delegations the lost keys granted lapsed, so it opens the lease itself).
    let mut terms = lease_terms("POOL-A", "fleet-new");
    terms.lessor = account("issuer-new");
    terms.salt = 2;
    let lessee_signature = w.lessee_signs("fleet-new", &terms);
    let open = Call::OpenLease { terms: terms.clone(), lessee_signature };
    assert_eq!(w.submit("operator-new", open.clone()).outcome, failed(ErrorCode::NotOwner));
    w.ok("issuer-new", open);
    assert_eq!(lease(&w, terms.id()).lessor, account("issuer-new"));
    invariants::check(&w.state).unwrap();
}

#[test]
fn one_battery_per_station_slot() {
    // Proves a logistics move into an occupied slot is refused and a freed slot can be reused.
    let (mut w, _) = bank();
    let into_slot_0 = Call::MoveCustody { serial: serial("B9"), to: station_slot(0) };
    assert_eq!(w.submit("operator", into_slot_0.clone()).outcome, failed(ErrorCode::SlotOccupied));
    // A swap moves B2 out of slot 0 and B1 into it: still occupied.
    let att = w.swap_call(CONTROLLER, swap(STATION, 1, TAXI, "B1", "B2", 10));
    w.ok("bob", att);
    assert_eq!(w.submit("operator", into_slot_0.clone()).outcome, failed(ErrorCode::SlotOccupied));
    w.ok(
        "operator",
        Call::MoveCustody { serial: serial("B1"), to: Custody::Warehouse(sym("WH-1")) },
    );
    assert_eq!(w.submit("operator", into_slot_0).outcome, TxOutcome::Applied);
    invariants::check(&w.state).unwrap();
}

#[test]
fn frozen_operator_gets_no_cut_and_the_swap_is_disputed() {
    // Proves frozen accounts receive nothing, even a station operator's fee cut.
    let (mut w, _) = bank();
    w.ok("admin", Call::Freeze { account: account("operator"), reason: text("review") });
    assert_disputed(&mut w, swap(STATION, 1, TAXI, "B1", "B2", 10_000), ErrorCode::ReceiverFrozen);
    assert_eq!(w.balance(&hkd(), "operator"), Amount(0));
}

#[test]
fn the_largest_battery_class_fits_in_one_transaction() {
    // Proves the limits agree: a class of CLASS_BATTERIES_MAX serials of the longest length
    // still decodes under TX_BYTES_MAX, so every class the ledger accepts can be submitted.
    let mut w = World::new(&[]);
    let longest =
        |i: usize| serial(&format!("{i:0>width$}", width = volt_proto::Serial::BYTES_MAX));
    let call = Call::CreateBatteryClass {
        class: sym("POOL-MAX"),
        name: text(&"n".repeat(volt_proto::Text::BYTES_MAX)),
        supply_max: Amount(u128::MAX),
        batteries: (0..volt_token::CLASS_BATTERIES_MAX).map(longest).collect(),
        revenue_currency: sym("HKD"),
    };
    let bytes = w.tx("issuer", call).encode();
    assert!(bytes.len() <= volt_proto::TX_BYTES_MAX, "{} bytes", bytes.len());
    assert!(volt_proto::SignedTx::decode(&bytes).is_ok());
}
