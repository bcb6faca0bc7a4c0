//! The battery registry: register, hand over, delegate, passport document, status (forward
//! only), logistics moves, and share classes over batteries.
//!
//! Whose is it: a battery belongs to its owner (the registrar until it hands the battery over).
//! Only the owner, or a delegate the owner named with `SetDelegate`, changes its passport
//! document, status, custody outside swaps, or puts it in a class. Station controllers move
//! custody only through swap attestations, and only of batteries leased to the vehicle's fleet.

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{
    Battery, Currency, Duty, Health, Key, Lease, LeaseStatus, Revenue, ShareClass, Station, Vehicle,
};
use std::collections::BTreeSet;
use volt_proto::{
    AccountId, Amount, BatteryStatus, Custody, ErrorCode, Hash, Passport, Role, Serial, Symbol,
    Text,
};

/// Most batteries one share class may cover.
pub const CLASS_BATTERIES_MAX: usize = 1_000;

/// State of health of a new battery, per mille.
const SOH_NEW_PERMILLE: u16 = 1_000;

/// The batteries of a class (none for a plain class).
pub(crate) fn class_batteries(cx: &Cx<'_>, class: &Symbol) -> Outcome<Vec<Serial>> {
    Ok(cx.get(&Key::ClassBatteries(class.clone()))?.unwrap_or_default())
}

pub(crate) fn battery(cx: &Cx<'_>, serial: &Serial) -> Outcome<Battery> {
    Ok(cx.get(&Key::Battery(serial.clone()))?.ok_or(ErrorCode::UnknownBattery)?)
}

pub(crate) fn register(
    cx: &mut Cx<'_>,
    serial: &Serial,
    passport: &Passport,
    warehouse: &Symbol,
) -> Outcome<()> {
    cx.require_role(&[Role::Operator, Role::Issuer])?;
    let key = Key::Battery(serial.clone());
    ensure(cx.get::<Battery>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    let record = Battery {
        passport: passport.clone(),
        owner: cx.signer,
        offered_to: None,
        status: BatteryStatus::Original,
        custody: Custody::Warehouse(warehouse.clone()),
        health: Health {
            soc_permille: 0,
            soh_permille: SOH_NEW_PERMILLE,
            full_cycles: 0,
            energy_throughput_wh: 0,
        },
        class: None,
        lease: None,
        last_attestation: None,
    };
    cx.put(&key, &record);
    cx.add_duty(cx.signer, Duty::BatteryOwner(serial.clone()))
}

/// A battery changes owner in two steps, so nobody is handed a battery (and a duty) it did not
/// accept: the owner itself (never a delegate: delegation covers running a battery, not giving
/// it away) offers it to `to`; `to` accepts by making the same call naming itself. The owner
/// withdraws an offer by offering the battery to itself.
pub(crate) fn transfer(cx: &mut Cx<'_>, serial: &Serial, to: AccountId) -> Outcome<()> {
    let key = Key::Battery(serial.clone());
    let mut record = battery(cx, serial)?;
    if to == cx.signer && record.offered_to == Some(to) {
        cx.require_role(&[Role::Operator, Role::Issuer])?;
        cx.require_sender(record.owner).map_err(|_| ErrorCode::NotOwner)?;
        cx.remove_duty(record.owner, Duty::BatteryOwner(serial.clone()))?;
        cx.add_duty(to, Duty::BatteryOwner(serial.clone()))?;
        record.owner = to;
        record.offered_to = None;
    } else if to == cx.signer && cx.signer == record.owner {
        ensure(record.offered_to.is_some(), ErrorCode::NoChange)?;
        record.offered_to = None;
    } else {
        ensure(cx.signer == record.owner, ErrorCode::NotOwner)?;
        let receiver = cx.require_receiver(to)?;
        ensure(matches!(receiver.role, Role::Operator | Role::Issuer), ErrorCode::WrongRole)?;
        ensure(record.offered_to != Some(to), ErrorCode::NoChange)?;
        record.offered_to = Some(to);
    }
    cx.put(&key, &record);
    Ok(())
}

/// Names (or stops naming) a delegate that acts for the signer on its batteries and classes.
pub(crate) fn set_delegate(cx: &mut Cx<'_>, delegate: AccountId, allowed: bool) -> Outcome<()> {
    cx.require_role(&[Role::Operator, Role::Issuer])?;
    ensure(delegate != cx.signer, ErrorCode::SelfTransfer)?;
    let key = Key::Delegate(cx.signer, delegate);
    let present = cx.get::<()>(&key)?.is_some();
    ensure(present != allowed, ErrorCode::NoChange)?;
    if allowed {
        let member = cx.member_or(delegate, ErrorCode::UnknownAccount)?;
        ensure(!member.revoked, ErrorCode::UnknownAccount)?;
        ensure(matches!(member.role, Role::Operator | Role::Issuer), ErrorCode::WrongRole)?;
        cx.put(&key, &());
    } else {
        cx.delete(&key);
    }
    Ok(())
}

/// True if the battery is in a vehicle of the fleet it is leased to.
fn with_its_lessee(cx: &Cx<'_>, record: &Battery) -> Outcome<bool> {
    let (Custody::Vehicle(vehicle), Some(id)) = (&record.custody, record.lease) else {
        return Ok(false);
    };
    let fleet = cx.get::<Vehicle>(&Key::Vehicle(vehicle.clone()))?.map(|v| v.fleet);
    let lessee = cx.get::<Lease>(&Key::Lease(id))?.map(|l| l.lessee);
    Ok(fleet.is_some() && fleet == lessee)
}

/// The battery, if the signer is its owner or the owner's delegate.
fn owned(cx: &Cx<'_>, serial: &Serial) -> Outcome<Battery> {
    cx.require_role(&[Role::Operator, Role::Issuer])?;
    let record = battery(cx, serial)?;
    cx.require_acts_for(record.owner)?;
    Ok(record)
}

pub(crate) fn update_document(
    cx: &mut Cx<'_>,
    serial: &Serial,
    document_hash: Hash,
    document_uri: &Text,
) -> Outcome<()> {
    let mut record = owned(cx, serial)?;
    record.passport.document_hash = document_hash;
    record.passport.document_uri = document_uri.clone();
    cx.put(&Key::Battery(serial.clone()), &record);
    Ok(())
}

pub(crate) fn set_status(
    cx: &mut Cx<'_>,
    serial: &Serial,
    status: BatteryStatus,
    soh_permille: Option<u16>,
) -> Outcome<()> {
    let mut record = owned(cx, serial)?;
    ensure(record.status.may_become(status), ErrorCode::StatusBackwards)?;
    if status == BatteryStatus::Waste {
        ensure(record.lease.is_none(), ErrorCode::BatteryLeased)?;
    }
    // Only remanufacturing may restore health.
    if let Some(soh) = soh_permille {
        ensure(status == BatteryStatus::Remanufactured, ErrorCode::OutOfRange)?;
        ensure(soh <= SOH_NEW_PERMILLE, ErrorCode::OutOfRange)?;
        record.health.soh_permille = soh;
    }
    record.status = status;
    cx.put(&Key::Battery(serial.clone()), &record);
    Ok(())
}

pub(crate) fn move_custody(cx: &mut Cx<'_>, serial: &Serial, to: &Custody) -> Outcome<()> {
    let mut record = owned(cx, serial)?;
    // A leased battery in a vehicle of its lessee is in the lessee's hands: only a swap takes
    // it out, or the lease ends first (the owner cannot revoke a lease alone).
    ensure(!with_its_lessee(cx, &record)?, ErrorCode::BatteryLeased)?;
    if record.status == BatteryStatus::Waste {
        ensure(matches!(to, Custody::Recycler(_)), ErrorCode::BatteryRetired)?;
    }
    match to {
        Custody::Station { station, slot } => {
            let s: Station =
                cx.get(&Key::Station(station.clone()))?.ok_or(ErrorCode::UnknownStation)?;
            ensure(s.active, ErrorCode::StationInactive)?;
            ensure(*slot < s.slots, ErrorCode::OutOfRange)?;
            // A station's slots are its operator's: only it (or its delegate) fills them.
            cx.require_acts_for(s.operator)?;
        }
        Custody::Vehicle(vehicle) => {
            // Into a vehicle only within a lease to the vehicle's fleet: the fleet agreed to
            // the lease, so it agreed to carry (and pay for) this battery.
            let v: Vehicle =
                cx.get(&Key::Vehicle(vehicle.clone()))?.ok_or(ErrorCode::UnknownVehicle)?;
            let lease: Option<Lease> = match record.lease {
                Some(id) => cx.get(&Key::Lease(id))?,
                None => None,
            };
            let leased =
                lease.is_some_and(|l| l.status == LeaseStatus::Active && l.lessee == v.fleet);
            ensure(leased, ErrorCode::BatteryNotLeased)?;
        }
        Custody::Warehouse(_) | Custody::Recycler(_) => {}
    }
    ensure(record.custody != *to, ErrorCode::NoChange)?;
    // One battery per slot: the slot index follows every custody change.
    if let Custody::Station { station, slot } = to {
        let key = Key::Slot(station.clone(), *slot);
        ensure(cx.get::<Serial>(&key)?.is_none(), ErrorCode::SlotOccupied)?;
        cx.put(&key, serial);
    }
    if let Custody::Station { station, slot } = &record.custody {
        cx.delete(&Key::Slot(station.clone(), *slot));
    }
    record.custody = to.clone();
    cx.put(&Key::Battery(serial.clone()), &record);
    Ok(())
}

pub(crate) fn create_class(
    cx: &mut Cx<'_>,
    class: &Symbol,
    name: &Text,
    supply_max: Amount,
    batteries: &[Serial],
    revenue_currency: &Symbol,
) -> Outcome<()> {
    cx.require_role(&[Role::Issuer])?;
    ensure(!supply_max.is_zero(), ErrorCode::ZeroAmount)?;
    ensure(!batteries.is_empty(), ErrorCode::ZeroAmount)?;
    ensure(batteries.len() <= CLASS_BATTERIES_MAX, ErrorCode::TooManyBatteries)?;
    let unique: BTreeSet<&Serial> = batteries.iter().collect();
    ensure(unique.len() == batteries.len(), ErrorCode::DuplicateBattery)?;
    let key = Key::Class(class.clone());
    ensure(cx.get::<ShareClass>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    let currency: Option<Currency> = cx.get(&Key::Currency(revenue_currency.clone()))?;
    ensure(currency.is_some(), ErrorCode::UnknownCurrency)?;
    for serial in batteries {
        let mut record = battery(cx, serial)?;
        cx.require_acts_for(record.owner)?;
        ensure(record.status != BatteryStatus::Waste, ErrorCode::BatteryRetired)?;
        ensure(record.class.is_none(), ErrorCode::BatteryInClass)?;
        record.class = Some(class.clone());
        cx.put(&Key::Battery(serial.clone()), &record);
    }
    let revenue = Some(Revenue::new(revenue_currency.clone()));
    // CLASS_BATTERIES_MAX fits a u32.
    let count = batteries.len() as u32;
    let record = ShareClass::new(cx.signer, name.clone(), supply_max, count, revenue);
    cx.put(&Key::ClassBatteries(class.clone()), &batteries.to_vec());
    cx.put(&key, &record);
    cx.add_duty(cx.signer, Duty::ClassIssuer(class.clone()))
}
