//! Share classes: create, issue (up to a fixed maximum), redeem.

use crate::calls::cash::require_movable;
use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Duty, Key, ShareClass};
use volt_proto::{AccountId, Amount, Asset, ErrorCode, Role, Symbol, Text};

pub(crate) fn create(
    cx: &mut Cx<'_>,
    class: &Symbol,
    name: &Text,
    supply_max: Amount,
) -> Outcome<()> {
    cx.require_role(&[Role::Issuer])?;
    ensure(!supply_max.is_zero(), ErrorCode::ZeroAmount)?;
    let key = Key::Class(class.clone());
    ensure(cx.get::<ShareClass>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    let record = ShareClass::new(cx.signer, name.clone(), supply_max, 0, None);
    cx.put(&key, &record);
    cx.add_duty(cx.signer, Duty::ClassIssuer(class.clone()))
}

pub(crate) fn issue(cx: &mut Cx<'_>, class: &Symbol, to: AccountId, amount: Amount) -> Outcome<()> {
    cx.require_role(&[Role::Issuer])?;
    let key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
    ensure(record.issuer == cx.signer, ErrorCode::NotIssuer)?;
    ensure(!record.paused, ErrorCode::ClassPaused)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    let issued = record.issued.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    ensure(issued <= record.supply_max, ErrorCode::SupplyCapExceeded)?;
    cx.require_receiver(to)?;
    record.issued = issued;
    cx.credit(&Asset::Shares(class.clone()), to, amount)?;
    cx.put(&key, &record);
    Ok(())
}

pub(crate) fn redeem(cx: &mut Cx<'_>, class: &Symbol, amount: Amount) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    let asset = Asset::Shares(class.clone());
    require_movable(cx, &asset)?;
    let key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
    cx.debit(&asset, cx.signer, amount)?;
    record.redeemed = record.redeemed.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    cx.put(&key, &record);
    Ok(())
}
