//! Revenue calls: deposit into a battery class, claim accrued revenue.

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Holding, Key, ShareClass};
use crate::revenue;
use volt_proto::{Amount, Asset, ErrorCode, Symbol};

pub(crate) fn deposit(cx: &mut Cx<'_>, class: &Symbol, amount: Amount) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    let record: ShareClass = cx.get(&Key::Class(class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    let currency = record.revenue.ok_or(ErrorCode::NoRevenue)?.currency;
    cx.debit(&Asset::Cash(currency), cx.signer, amount)?;
    cx.distribute(class, amount)
}

pub(crate) fn claim(cx: &mut Cx<'_>, class: &Symbol) -> Outcome<()> {
    let member = cx.signer_member()?;
    ensure(crate::exec::holds_assets(member.role), ErrorCode::WrongRole)?;
    let class_key = Key::Class(class.clone());
    let mut record: ShareClass = cx.get(&class_key)?.ok_or(ErrorCode::UnknownClass)?;
    let revenue_state = record.revenue.as_mut().ok_or(ErrorCode::NoRevenue)?;
    let holding_key = Key::Balance(Asset::Shares(class.clone()), cx.signer);
    let before: Holding = cx.get(&holding_key)?.ok_or(ErrorCode::NothingToClaim)?;
    let mut holding = before.clone();
    revenue::settle(&mut holding, revenue_state.per_share)?;
    let units = revenue::take_whole_units(&mut holding);
    ensure(!units.is_zero(), ErrorCode::NothingToClaim)?;
    revenue_state.pot = revenue_state.pot.checked_sub(units).ok_or(ErrorCode::Overflow)?;
    revenue_state.claimed = revenue_state.claimed.checked_add(units).ok_or(ErrorCode::Overflow)?;
    let cash = Asset::Cash(revenue_state.currency.clone());
    cx.put(&class_key, &record);
    cx.store_holding(&Asset::Shares(class.clone()), cx.signer, &before, &holding)?;
    cx.credit(&cash, cx.signer, units)
}
