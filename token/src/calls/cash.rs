//! Cash: one settlement token per currency, minted and burned only by its issuer.

use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Currency, Duty, Key};
use volt_proto::{AccountId, Amount, Asset, ErrorCode, Role, Symbol};

pub(crate) fn register(cx: &mut Cx<'_>, currency: &Symbol, issuer: AccountId) -> Outcome<()> {
    cx.require_role(&[Role::Admin])?;
    let member = cx.member_or(issuer, ErrorCode::UnknownAccount)?;
    ensure(!member.revoked, ErrorCode::UnknownAccount)?;
    ensure(member.role == Role::Issuer, ErrorCode::WrongRole)?;
    let key = Key::Currency(currency.clone());
    ensure(cx.get::<Currency>(&key)?.is_none(), ErrorCode::AlreadyExists)?;
    cx.put(&key, &Currency { issuer, minted: Amount::ZERO, burned: Amount::ZERO });
    cx.add_duty(issuer, Duty::CurrencyIssuer(currency.clone()))
}

fn issued_by_signer(cx: &Cx<'_>, currency: &Symbol) -> Outcome<Currency> {
    cx.require_role(&[Role::Issuer])?;
    let record: Currency =
        cx.get(&Key::Currency(currency.clone()))?.ok_or(ErrorCode::UnknownCurrency)?;
    ensure(record.issuer == cx.signer, ErrorCode::NotIssuer)?;
    Ok(record)
}

pub(crate) fn mint(
    cx: &mut Cx<'_>,
    currency: &Symbol,
    to: AccountId,
    amount: Amount,
) -> Outcome<()> {
    let mut record = issued_by_signer(cx, currency)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    cx.require_receiver(to)?;
    record.minted = record.minted.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    cx.credit(&Asset::Cash(currency.clone()), to, amount)?;
    cx.put(&Key::Currency(currency.clone()), &record);
    Ok(())
}

pub(crate) fn burn(cx: &mut Cx<'_>, currency: &Symbol, amount: Amount) -> Outcome<()> {
    let mut record = issued_by_signer(cx, currency)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    cx.debit(&Asset::Cash(currency.clone()), cx.signer, amount)?;
    record.burned = record.burned.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    cx.put(&Key::Currency(currency.clone()), &record);
    Ok(())
}

/// Fails unless `asset` exists and may move now (cash always; shares unless paused).
pub(crate) fn require_movable(cx: &Cx<'_>, asset: &Asset) -> Outcome<()> {
    match asset {
        Asset::Cash(currency) => {
            let record: Option<Currency> = cx.get(&Key::Currency(currency.clone()))?;
            ensure(record.is_some(), ErrorCode::UnknownCurrency)
        }
        Asset::Shares(class) => {
            let record: Option<crate::keys::ShareClass> = cx.get(&Key::Class(class.clone()))?;
            let record = record.ok_or(ErrorCode::UnknownClass)?;
            ensure(!record.paused, ErrorCode::ClassPaused)
        }
    }
}

pub(crate) fn transfer(
    cx: &mut Cx<'_>,
    asset: &Asset,
    to: AccountId,
    amount: Amount,
) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    ensure(!amount.is_zero(), ErrorCode::ZeroAmount)?;
    ensure(to != cx.signer, ErrorCode::SelfTransfer)?;
    require_movable(cx, asset)?;
    cx.require_receiver(to)?;
    cx.transfer(asset, cx.signer, to, amount)
}
