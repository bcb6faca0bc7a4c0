//! Share classes: create, issue (up to a fixed maximum), redeem.

use crate::calls::cash::require_movable;
use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Duty, Holding, Key, ShareClass};
use crate::revenue;
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
    // The cap bounds shares outstanding: redeemed shares may be issued again, so revenue that
    // arrives while none are outstanding always has shares to reach.
    let issued = record.issued.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    let outstanding = record.outstanding().checked_add(amount).ok_or(ErrorCode::Overflow)?;
    ensure(outstanding <= record.supply_max, ErrorCode::SupplyCapExceeded)?;
    cx.require_receiver(to)?;
    let unissued =
        record.supply_max.checked_sub(record.outstanding()).ok_or(ErrorCode::Overflow)?;
    record.issued = issued;
    // Write the class first: the credit settles the receiver's revenue against it.
    cx.put(&key, &record);
    cx.credit(&Asset::Shares(class.clone()), to, amount)?;
    release_held(cx, class, to, amount, unissued)
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

/// Revenue that arrived while no shares were outstanding belongs to the shares not yet issued,
/// equally: issuing `amount` of the `unissued` shares releases that fraction of it to the
/// receiver. So nobody takes a held pot by issuing one share to itself.
fn release_held(
    cx: &mut Cx<'_>,
    class: &Symbol,
    to: AccountId,
    amount: Amount,
    unissued: Amount,
) -> Outcome<()> {
    let key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&key)?.ok_or(ErrorCode::UnknownClass)?;
    let Some(revenue_state) = record.revenue.as_mut() else { return Ok(()) };
    if revenue_state.held.is_zero() {
        return Ok(());
    }
    let share = revenue::mul_div(revenue_state.held.0, amount.0, unissued.0.max(1));
    let released = Amount(share.ok_or(ErrorCode::Overflow)?);
    if released.is_zero() {
        return Ok(());
    }
    revenue_state.held = revenue_state.held.checked_sub(released).ok_or(ErrorCode::Overflow)?;
    cx.put(&key, &record);
    let asset = Asset::Shares(class.clone());
    let balance = Key::Balance(asset.clone(), to);
    let before: Holding = cx.get(&balance)?.ok_or(ErrorCode::Overflow)?;
    let mut holding = before.clone();
    revenue::add_units(&mut holding, released)?;
    cx.store_holding(&asset, to, &before, &holding)
}
