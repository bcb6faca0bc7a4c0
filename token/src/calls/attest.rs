//! Station attestations: swaps and energy exports, signed by the station's controller key and
//! relayed by anyone.
//!
//! A correctly signed attestation with the next counter is always **recorded** and the counter
//! advances: if its content conflicts with the ledger (unknown battery, wrong custody, no lease,
//! payer short of funds…) it is recorded as disputed with a reason and has no other effect, so
//! nothing a station signed is lost and one bad swap never blocks a station. A resubmitted
//! identical attestation is reported as a duplicate; a different one for a used counter is kept
//! as evidence.

use crate::calls::Done;
use crate::calls::batteries::battery;
use crate::calls::stations::{BPS_ONE, station};
use crate::exec::{Cx, Fail, Outcome, ensure};
use crate::keys::{
    AttestationEffect, AttestationRecord, Battery, Evidence, Key, Lease, LeaseStatus, ShareClass,
    Station, UsageReceipt, Vehicle,
};
use volt_proto::sig::{self, PublicKey};
use volt_proto::{
    AccountId, Amount, Asset, Attestation, BatteryReading, BatteryStatus, Custody,
    EnergyAttestation, ErrorCode, Signature, SwapAttestation, Symbol,
};

/// Highest state of charge or health, per mille.
const PERMILLE_MAX: u16 = 1_000;

pub(crate) fn submit(
    cx: &mut Cx<'_>,
    attestation: &Attestation,
    signature: &Signature,
) -> Outcome<Done> {
    let station_id = attestation.station().clone();
    let mut record = station(cx, &station_id)?;
    ensure(record.active, ErrorCode::StationInactive)?;
    let key = PublicKey::from_account(record.controller)
        .map_err(|_| ErrorCode::BadAttestationSignature)?;
    sig::verify(&key, &attestation.signing_message(cx.chain_id), signature)
        .map_err(|_| ErrorCode::BadAttestationSignature)?;
    if let Attestation::Energy(energy) = attestation {
        ensure(energy.payer == cx.signer, ErrorCode::NotPayer)?;
    }
    let counter = attestation.counter();
    let next = record.counter.checked_add(1).ok_or(ErrorCode::Overflow)?;
    if counter < next {
        return duplicate_or_conflict(cx, &station_id, attestation, signature);
    }
    ensure(counter == next, ErrorCode::CounterGap)?;
    record.counter = next;
    let snapshot = cx.snapshot();
    let settled = match attestation {
        Attestation::Swap(swap) => settle_swap(cx, &record, swap),
        Attestation::Energy(energy) => settle_energy(cx, &record, energy),
    };
    let effect = match settled {
        Ok(receipt) => {
            record.energy_wh = record.energy_wh.saturating_add(receipt.energy_wh);
            let totals = record.totals.entry(attestation.currency().clone()).or_default();
            totals.fees = totals.fees.checked_add(receipt.fee).ok_or(ErrorCode::Overflow)?;
            totals.operator_cut =
                totals.operator_cut.checked_add(receipt.operator_cut).ok_or(ErrorCode::Overflow)?;
            match attestation {
                Attestation::Swap(_) => {
                    record.swaps = record.swaps.saturating_add(1);
                    AttestationEffect::Swap(receipt)
                }
                Attestation::Energy(_) => AttestationEffect::Energy(receipt),
            }
        }
        Err(Fail::Code(code)) => {
            cx.restore(snapshot);
            record.disputed = record.disputed.saturating_add(1);
            AttestationEffect::Disputed(code)
        }
        Err(storage @ Fail::Storage(_)) => return Err(storage),
    };
    let done = match effect {
        AttestationEffect::Disputed(code) => Done::Disputed(code),
        _ => Done::Applied,
    };
    cx.put(&Key::Station(station_id.clone()), &record);
    let height = cx.ctx.height;
    let stored = AttestationRecord { id: attestation.id(), height, effect };
    cx.put(&Key::Attestation(station_id, counter), &stored);
    Ok(done)
}

/// A counter already used: the same attestation again is a duplicate; a different one is
/// evidence of a misbehaving (or cloned) controller and is kept.
fn duplicate_or_conflict(
    cx: &mut Cx<'_>,
    station_id: &Symbol,
    attestation: &Attestation,
    signature: &Signature,
) -> Outcome<Done> {
    let counter = attestation.counter();
    let recorded: AttestationRecord =
        cx.get(&Key::Attestation(station_id.clone(), counter))?.ok_or(ErrorCode::OutOfRange)?;
    let id = attestation.id();
    ensure(recorded.id != id, ErrorCode::DuplicateAttestation)?;
    let key = Key::Evidence(station_id.clone(), counter, id);
    ensure(cx.get::<Evidence>(&key)?.is_none(), ErrorCode::DuplicateAttestation)?;
    let evidence =
        Evidence { attestation: attestation.clone(), signature: *signature, height: cx.ctx.height };
    cx.put(&key, &evidence);
    Ok(Done::Disputed(ErrorCode::AttestationConflict))
}

fn check_reading(reading: &BatteryReading) -> Outcome<()> {
    let ok = reading.soc_permille <= PERMILLE_MAX && reading.soh_permille <= PERMILLE_MAX;
    ensure(ok, ErrorCode::OutOfRange)
}

/// Health only moves one way through attestations: state of health never rises (only
/// remanufacturing restores it, through a status change), cycles never fall.
fn apply_reading(battery: &mut Battery, reading: &BatteryReading) {
    battery.health.soc_permille = reading.soc_permille;
    battery.health.soh_permille = battery.health.soh_permille.min(reading.soh_permille);
    battery.health.full_cycles = battery.health.full_cycles.max(reading.cycles);
}

/// The share class a battery's revenue goes to, checked against the attested currency.
fn credited_class(cx: &Cx<'_>, battery: &Battery, currency: &Symbol) -> Outcome<Symbol> {
    let class = battery.class.clone().ok_or(ErrorCode::NotInShareClass)?;
    let record: ShareClass = cx.get(&Key::Class(class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    let revenue = record.revenue.ok_or(ErrorCode::NoRevenue)?;
    ensure(revenue.currency == *currency, ErrorCode::CurrencyMismatch)?;
    Ok(class)
}

/// Moves `fee` from `payer`: the station operator's cut to the operator, the rest to `class`.
fn pay(
    cx: &mut Cx<'_>,
    station: &Station,
    payer: AccountId,
    fee: Amount,
    currency: &Symbol,
    class: &Symbol,
) -> Outcome<Amount> {
    let member = cx.member_or(payer, ErrorCode::PayerNotAllowed)?;
    let allowed = member.is_verified(cx.ctx.time) && !member.frozen;
    ensure(allowed, ErrorCode::PayerNotAllowed)?;
    let cash = Asset::Cash(currency.clone());
    cx.debit(&cash, payer, fee).map_err(|fail| match fail {
        Fail::Code(ErrorCode::InsufficientBalance) => Fail::Code(ErrorCode::PayerShortOfFunds),
        other => other,
    })?;
    // fee · bps / 10000 without overflowing: split the fee into whole ten-thousandths and rest.
    let bps = u128::from(station.operator_cut_bps);
    let one = u128::from(BPS_ONE);
    let cut = Amount(fee.0 / one * bps + fee.0 % one * bps / one);
    if !cut.is_zero() {
        // A frozen or lapsed operator receives nothing: the swap is disputed, not paid around.
        cx.require_receiver(station.operator)?;
        cx.credit(&cash, station.operator, cut)?;
    }
    let rest = fee.checked_sub(cut).ok_or(ErrorCode::Overflow)?;
    if !rest.is_zero() {
        cx.distribute(class, rest)?;
    }
    Ok(cut)
}

/// The most a swap delivering `energy_wh` may charge under the lease: the fleet agreed to this
/// and no more when it signed the terms.
fn tariff(lease: &Lease, energy_wh: u64) -> Outcome<Amount> {
    let per_kwh = lease.terms.fee_per_kwh_max.0.checked_mul(u128::from(energy_wh));
    let energy_part = per_kwh.ok_or(ErrorCode::Overflow)? / 1_000;
    let max = lease.terms.fee_per_swap_max.0.checked_add(energy_part);
    Ok(Amount(max.ok_or(ErrorCode::Overflow)?))
}

fn settle_swap(
    cx: &mut Cx<'_>,
    station: &Station,
    swap: &SwapAttestation,
) -> Outcome<UsageReceipt> {
    check_reading(&swap.battery_out)?;
    check_reading(&swap.battery_in)?;
    let (out_serial, in_serial) = (&swap.battery_out.serial, &swap.battery_in.serial);
    ensure(out_serial != in_serial, ErrorCode::DuplicateBattery)?;
    let vehicle: Vehicle =
        cx.get(&Key::Vehicle(swap.vehicle.clone()))?.ok_or(ErrorCode::UnknownVehicle)?;
    let mut out = battery(cx, out_serial)?;
    let mut into = battery(cx, in_serial)?;
    let retired = out.status == BatteryStatus::Waste || into.status == BatteryStatus::Waste;
    ensure(!retired, ErrorCode::BatteryRetired)?;
    ensure(out.custody == Custody::Vehicle(swap.vehicle.clone()), ErrorCode::WrongCustody)?;
    let slot = match &into.custody {
        Custody::Station { station: at, slot } if *at == swap.station => *slot,
        _ => return Err(ErrorCode::WrongCustody.into()),
    };
    // A station swaps only batteries whose owners run it or delegated to its operator: the
    // owner chose where its batteries earn, and at what operator cut.
    let approved =
        cx.allows(out.owner, station.operator)? && cx.allows(into.owner, station.operator)?;
    ensure(approved, ErrorCode::StationNotApproved)?;
    // The energy a swap sells is at most what the full battery going in holds, so the tariff's
    // per-kWh part is bounded by the battery's rated energy.
    ensure(swap.energy_wh <= into.passport.rated_energy_wh, ErrorCode::OutOfRange)?;
    let lease_id = into.lease.ok_or(ErrorCode::BatteryNotLeased)?;
    let lease: Lease = cx.get(&Key::Lease(lease_id))?.ok_or(ErrorCode::BatteryNotLeased)?;
    let leased = lease.status == LeaseStatus::Active && lease.lessee == vehicle.fleet;
    ensure(leased, ErrorCode::BatteryNotLeased)?;
    ensure(swap.fee <= tariff(&lease, swap.energy_wh)?, ErrorCode::FeeAboveTariff)?;
    let class = credited_class(cx, &into, &swap.currency)?;
    let operator_cut = pay(cx, station, vehicle.fleet, swap.fee, &swap.currency, &class)?;

    let at = Some((swap.station.clone(), swap.counter));
    out.custody = Custody::Station { station: swap.station.clone(), slot };
    cx.put(&Key::Slot(swap.station.clone(), slot), out_serial);
    apply_reading(&mut out, &swap.battery_out);
    out.health.energy_throughput_wh =
        out.health.energy_throughput_wh.saturating_add(swap.energy_wh);
    out.last_attestation = at.clone();
    into.custody = Custody::Vehicle(swap.vehicle.clone());
    apply_reading(&mut into, &swap.battery_in);
    into.last_attestation = at;
    cx.put(&Key::Battery(out_serial.clone()), &out);
    cx.put(&Key::Battery(in_serial.clone()), &into);
    Ok(UsageReceipt {
        station: swap.station.clone(),
        counter: swap.counter,
        batteries: vec![out_serial.clone(), in_serial.clone()],
        energy_wh: swap.energy_wh,
        fee: swap.fee,
        operator_cut,
        payer: vehicle.fleet,
        class,
    })
}

fn settle_energy(
    cx: &mut Cx<'_>,
    station: &Station,
    energy: &EnergyAttestation,
) -> Outcome<UsageReceipt> {
    let mut record = battery(cx, &energy.battery)?;
    ensure(record.status != BatteryStatus::Waste, ErrorCode::BatteryRetired)?;
    let here =
        matches!(&record.custody, Custody::Station { station: at, .. } if *at == energy.station);
    ensure(here, ErrorCode::WrongCustody)?;
    let class = credited_class(cx, &record, &energy.currency)?;
    let operator_cut = pay(cx, station, energy.payer, energy.payment, &energy.currency, &class)?;
    record.health.energy_throughput_wh =
        record.health.energy_throughput_wh.saturating_add(energy.energy_wh);
    record.last_attestation = Some((energy.station.clone(), energy.counter));
    cx.put(&Key::Battery(energy.battery.clone()), &record);
    Ok(UsageReceipt {
        station: energy.station.clone(),
        counter: energy.counter,
        batteries: vec![energy.battery.clone()],
        energy_wh: energy.energy_wh,
        fee: energy.payment,
        operator_cut,
        payer: energy.payer,
        class,
    })
}
