//! The battery registry: register, passport document, status (forward only), logistics moves,
//! and share classes over batteries.

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Battery, Currency, Duty, Health, Key, Revenue, ShareClass, Station, Vehicle};
use std::collections::BTreeSet;
use volt_proto::{
    Amount, BatteryStatus, Custody, ErrorCode, Hash, Passport, Role, Serial, Symbol, Text,
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
        registrar: cx.signer,
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
    Ok(())
}

pub(crate) fn update_document(
    cx: &mut Cx<'_>,
    serial: &Serial,
    document_hash: Hash,
    document_uri: &Text,
) -> Outcome<()> {
    cx.require_role(&[Role::Operator, Role::Issuer])?;
    let mut record = battery(cx, serial)?;
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
    cx.require_role(&[Role::Operator])?;
    let mut record = battery(cx, serial)?;
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
    cx.require_role(&[Role::Operator])?;
    let mut record = battery(cx, serial)?;
    if record.status == BatteryStatus::Waste {
        ensure(matches!(to, Custody::Recycler(_)), ErrorCode::BatteryRetired)?;
    }
    match to {
        Custody::Station { station, slot } => {
            let s: Station =
                cx.get(&Key::Station(station.clone()))?.ok_or(ErrorCode::UnknownStation)?;
            ensure(s.active, ErrorCode::StationInactive)?;
            ensure(*slot < s.slots, ErrorCode::OutOfRange)?;
        }
        Custody::Vehicle(vehicle) => {
            let v: Option<Vehicle> = cx.get(&Key::Vehicle(vehicle.clone()))?;
            ensure(v.is_some(), ErrorCode::UnknownVehicle)?;
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
