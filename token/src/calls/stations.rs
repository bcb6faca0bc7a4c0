//! Stations (register, rotate the controller key, decommission) and vehicles.

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Duty, Key, Station, Vehicle};
use std::collections::BTreeMap;
use volt_proto::sig::PublicKey;
use volt_proto::{AccountId, ErrorCode, Role, Symbol, Text};

/// Basis points in one whole.
pub(crate) const BPS_ONE: u16 = 10_000;

pub(crate) fn station(cx: &Cx<'_>, id: &Symbol) -> Outcome<Station> {
    Ok(cx.get(&Key::Station(id.clone()))?.ok_or(ErrorCode::UnknownStation)?)
}

pub(crate) fn register(
    cx: &mut Cx<'_>,
    id: &Symbol,
    controller: AccountId,
    location: &Text,
    slots: u16,
    operator_cut_bps: u16,
) -> Outcome<()> {
    cx.require_role(&[Role::Operator])?;
    PublicKey::from_account(controller).map_err(|_| ErrorCode::BadKey)?;
    ensure(slots > 0 && operator_cut_bps <= BPS_ONE, ErrorCode::OutOfRange)?;
    let key = Key::Station(id.clone());
    ensure(cx.get::<Station>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    let record = Station {
        operator: cx.signer,
        controller,
        location: location.clone(),
        slots,
        operator_cut_bps,
        active: true,
        counter: 0,
        swaps: 0,
        disputed: 0,
        energy_wh: 0,
        totals: BTreeMap::new(),
    };
    cx.put(&key, &record);
    cx.add_duty(cx.signer, Duty::StationOperator(id.clone()))
}

fn operated_by_signer(cx: &Cx<'_>, id: &Symbol) -> Outcome<Station> {
    cx.require_role(&[Role::Operator])?;
    let record = station(cx, id)?;
    ensure(record.operator == cx.signer, ErrorCode::WrongRole)?;
    ensure(record.active, ErrorCode::StationInactive)?;
    Ok(record)
}

pub(crate) fn rotate_key(cx: &mut Cx<'_>, id: &Symbol, controller: AccountId) -> Outcome<()> {
    let mut record = operated_by_signer(cx, id)?;
    PublicKey::from_account(controller).map_err(|_| ErrorCode::BadKey)?;
    ensure(record.controller != controller, ErrorCode::NoChange)?;
    record.controller = controller;
    cx.put(&Key::Station(id.clone()), &record);
    Ok(())
}

pub(crate) fn decommission(cx: &mut Cx<'_>, id: &Symbol) -> Outcome<()> {
    let mut record = operated_by_signer(cx, id)?;
    record.active = false;
    cx.put(&Key::Station(id.clone()), &record);
    Ok(())
}

/// The fleet registers its own vehicle: a vehicle's payer is always an account that signed up
/// to pay for it.
pub(crate) fn register_vehicle(cx: &mut Cx<'_>, vehicle: &Symbol) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    let key = Key::Vehicle(vehicle.clone());
    ensure(cx.get::<Vehicle>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    cx.put(&key, &Vehicle { fleet: cx.signer });
    cx.add_duty(cx.signer, Duty::Fleet(vehicle.clone()))
}
