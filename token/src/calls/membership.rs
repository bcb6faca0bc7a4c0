//! Membership and compliance: register, revoke, freeze, unfreeze, recover a lost wallet, pause a
//! share class. All signed by an admin (pausing also by the class's issuer).

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Currency, Duty, Holding, Key, Lease, Member, ShareClass, Station, Vehicle};
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
        holdings: Vec::new(),
        duties: Vec::new(),
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

/// Moves the lost key's membership and every balance to `new`; the lost key is revoked and
/// keeps an empty record for the audit trail.
pub(crate) fn recover(cx: &mut Cx<'_>, lost: AccountId, new: AccountId) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    PublicKey::from_account(new).map_err(|_| ErrorCode::BadKey)?;
    let mut old = cx.member_or(lost, ErrorCode::UnknownAccount)?;
    ensure(!old.revoked, ErrorCode::UnknownAccount)?;
    ensure(cx.get::<Member>(&Key::Member(new))?.is_none(), ErrorCode::AlreadyExists)?;
    let holdings = std::mem::take(&mut old.holdings);
    for asset in &holdings {
        let from = Key::Balance(asset.clone(), lost);
        if let Some(holding) = cx.get::<Holding>(&from)? {
            cx.delete(&from);
            cx.put(&Key::Balance(asset.clone(), new), &holding);
        }
    }
    let duties = std::mem::take(&mut old.duties);
    for duty in &duties {
        hand_over(cx, duty, lost, new)?;
    }
    let replacement = Member {
        role: old.role,
        identity_expiry: old.identity_expiry,
        frozen: old.frozen,
        revoked: false,
        next_nonce: Nonce(0),
        holdings,
        duties,
    };
    old.revoked = true;
    cx.put(&Key::Member(lost), &old);
    cx.put(&Key::Member(new), &replacement);
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
    let signer = cx.signer_member()?;
    let key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
    let allowed = signer.role == Role::Admin || record.issuer == cx.signer;
    ensure(allowed, ErrorCode::WrongRole)?;
    ensure(record.paused != paused, ErrorCode::NoChange)?;
    record.paused = paused;
    cx.put(&key, &record);
    Ok(())
}
