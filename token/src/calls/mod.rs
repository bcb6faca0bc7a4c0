//! The calls, one module per family, dispatched by [`execute`].

pub(crate) mod cash;
pub(crate) mod membership;
pub(crate) mod shares;
pub(crate) mod trade;

use crate::exec::{Cx, Outcome, ensure};
use volt_proto::{Call, ErrorCode};

/// Runs one call for an authenticated signer. The signer must be unfrozen and its identity
/// current for any call.
pub(crate) fn execute(cx: &mut Cx<'_>, call: &Call) -> Outcome<()> {
    let signer = cx.signer_member()?;
    ensure(!signer.frozen, ErrorCode::SignerFrozen)?;
    ensure(
        signer.identity_expiry > cx.ctx.time,
        ErrorCode::IdentityExpired,
    )?;
    match call {
        Call::RegisterMember {
            account,
            role,
            identity_expiry,
        } => membership::register(cx, *account, *role, *identity_expiry),
        Call::RevokeMember { account, reason: _ } => membership::revoke(cx, *account),
        Call::Freeze { account, reason: _ } => membership::set_frozen(cx, *account, true),
        Call::Unfreeze { account } => membership::set_frozen(cx, *account, false),
        Call::RecoverWallet {
            lost,
            new,
            reason: _,
        } => membership::recover(cx, *lost, *new),
        Call::PauseClass { class } => membership::set_paused(cx, class, true),
        Call::UnpauseClass { class } => membership::set_paused(cx, class, false),
        Call::RegisterCurrency { currency, issuer } => cash::register(cx, currency, *issuer),
        Call::Mint {
            currency,
            to,
            amount,
        } => cash::mint(cx, currency, *to, *amount),
        Call::Burn { currency, amount } => cash::burn(cx, currency, *amount),
        Call::Transfer { asset, to, amount } => cash::transfer(cx, asset, *to, *amount),
        Call::CreateClass {
            class,
            name,
            supply_max,
        } => shares::create(cx, class, name, *supply_max),
        Call::IssueShares { class, to, amount } => shares::issue(cx, class, *to, *amount),
        Call::RedeemShares { class, amount } => shares::redeem(cx, class, *amount),
        Call::Trade {
            terms,
            counterparty_signature,
        } => trade::settle(cx, terms, counterparty_signature),
    }
}
