//! Membership and compliance: register, revoke, freeze, unfreeze, recover a lost wallet, pause a
//! share class. All signed by an admin (pausing also by the class's issuer).

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{
    Battery, Currency, Duty, Holding, Key, Lease, Member, ShareClass, Station, Vehicle,
};
use volt_proto::sig::PublicKey;
use volt_proto::{AccountId, ErrorCode, Nonce, Role, Symbol, Timestamp};

pub(crate) fn register(
    cx: &mut Cx<'_>,
    account: AccountId,
    role: Role,
    identity_expiry: Timestamp,
) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    // Weak or malformed keys could be forged for: refuse them at the door.
    PublicKey::from_account(account).map_err(|_| ErrorCode::BadKey)?;
    let key = Key::Member(account);
    ensure(cx.get::<Member>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    let member = Member {
        role,
        identity_expiry,
        frozen: false,
        revoked: false,
        next_nonce: Nonce(0),
        assets: 0,
        duties: 0,
        recovered_to: None,
    };
    cx.put(&key, &member);
    Ok(())
}

pub(crate) fn revoke(cx: &mut Cx<'_>, account: AccountId) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    let mut member = cx.member_or(account, ErrorCode::UnknownAccount)?;
    ensure(!member.revoked, ErrorCode::NoChange)?;
    member.revoked = true;
    cx.put(&Key::Member(account), &member);
    Ok(())
}

pub(crate) fn set_frozen(cx: &mut Cx<'_>, account: AccountId, frozen: bool) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    let mut member = cx.member_or(account, ErrorCode::UnknownAccount)?;
    ensure(member.frozen != frozen, ErrorCode::NoChange)?;
    member.frozen = frozen;
    cx.put(&Key::Member(account), &member);
    Ok(())
}

/// Moves the lost key's membership, every listed balance and every role to `new`; the lost
/// key is revoked and keeps a record naming its successor, for the audit trail. A revoked key
/// can be recovered (a key revoked because it was stolen still owns its assets), but only once.
/// Delegations the lost key granted lapse: the new key grants them again if it wants them.
pub(crate) fn recover(
    cx: &mut Cx<'_>,
    lost: AccountId,
    new: AccountId,
    identity_expiry: Option<Timestamp>,
) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    PublicKey::from_account(new).map_err(|_| ErrorCode::BadKey)?;
    let mut old = cx.member_or(lost, ErrorCode::UnknownAccount)?;
    ensure(old.recovered_to.is_none(), ErrorCode::AlreadyRecovered)?;
    ensure(cx.get::<Member>(&Key::Member(new))?.is_none(), ErrorCode::AlreadyExists)?;
    for key in cx.scan(&Key::holds_prefix(lost))? {
        let Key::Holds(_, asset) = key else { continue };
        let from = Key::Balance(asset.clone(), lost);
        if let Some(holding) = cx.get::<Holding>(&from)? {
            cx.delete(&from);
            cx.put(&Key::Balance(asset.clone(), new), &holding);
        }
        cx.delete(&Key::Holds(lost, asset.clone()));
        cx.put(&Key::Holds(new, asset), &());
    }
    for key in cx.scan(&Key::duties_prefix(lost))? {
        let Key::DutyOf(_, duty) = key else { continue };
        hand_over(cx, &duty, lost, new)?;
        cx.delete(&Key::DutyOf(lost, duty.clone()));
        cx.put(&Key::DutyOf(new, duty), &());
    }
    let replacement = Member {
        role: old.role,
        identity_expiry: identity_expiry.unwrap_or(old.identity_expiry),
        frozen: old.frozen,
        revoked: false,
        next_nonce: Nonce(0),
        assets: old.assets,
        duties: old.duties,
        recovered_to: None,
    };
    old.revoked = true;
    old.assets = 0;
    old.duties = 0;
    old.recovered_to = Some(new);
    cx.put(&Key::Member(lost), &old);
    cx.put(&Key::Member(new), &replacement);
    Ok(())
}

/// Sets a member's identity expiry after a new verification (admin).
pub(crate) fn renew(cx: &mut Cx<'_>, account: AccountId, expiry: Timestamp) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    let mut member = cx.member_or(account, ErrorCode::UnknownAccount)?;
    ensure(!member.revoked, ErrorCode::UnknownAccount)?;
    ensure(member.identity_expiry != expiry, ErrorCode::NoChange)?;
    member.identity_expiry = expiry;
    cx.put(&Key::Member(account), &member);
    Ok(())
}

/// Points a record that names `lost` in a role at `new` instead.
fn hand_over(cx: &mut Cx<'_>, duty: &Duty, lost: AccountId, new: AccountId) -> Outcome<()> {
    let swap = |account: &mut AccountId| {
        if *account == lost {
            *account = new;
        }
    };
    match duty {
        Duty::CurrencyIssuer(symbol) => {
            let key = Key::Currency(symbol.clone());
            if let Some(mut record) = cx.get::<Currency>(&key)? {
                swap(&mut record.issuer);
                cx.put(&key, &record);
            }
        }
        Duty::ClassIssuer(symbol) => {
            let key = Key::Class(symbol.clone());
            if let Some(mut record) = cx.get::<ShareClass>(&key)? {
                swap(&mut record.issuer);
                cx.put(&key, &record);
            }
        }
        Duty::StationOperator(id) => {
            let key = Key::Station(id.clone());
            if let Some(mut record) = cx.get::<Station>(&key)? {
                swap(&mut record.operator);
                cx.put(&key, &record);
            }
        }
        Duty::Fleet(vehicle) => {
            let key = Key::Vehicle(vehicle.clone());
            if let Some(mut record) = cx.get::<Vehicle>(&key)? {
                swap(&mut record.fleet);
                cx.put(&key, &record);
            }
        }
        Duty::BatteryOwner(serial) => {
            let key = Key::Battery(serial.clone());
            if let Some(mut record) = cx.get::<Battery>(&key)? {
                swap(&mut record.owner);
                cx.put(&key, &record);
            }
        }
        Duty::Lessor(id) | Duty::Lessee(id) => {
            let key = Key::Lease(*id);
            if let Some(mut record) = cx.get::<Lease>(&key)? {
                swap(&mut record.lessor);
                swap(&mut record.lessee);
                cx.put(&key, &record);
            }
        }
    }
    Ok(())
}

pub(crate) fn set_paused(cx: &mut Cx<'_>, class: &Symbol, paused: bool) -> Outcome<()> {
    // Pausing stops holders from redeeming or moving what they hold, so it is governance
    // (admin) alone: an issuer that could pause would pin dust on a member's holdings for good.
    cx.require_role(&[Role::Admin])?;
    let key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
    ensure(record.paused != paused, ErrorCode::NoChange)?;
    record.paused = paused;
    cx.put(&key, &record);
    Ok(())
}
