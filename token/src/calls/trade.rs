//! Atomic two-leg trades: both legs settle, or neither does; a trade id settles once.

use crate::calls::cash::require_movable;
use crate::exec::{Cx, Outcome, ensure};
use crate::keys::Key;
use volt_proto::sig::{self, PublicKey};
use volt_proto::{ErrorCode, Height, Signature, TradeTerms};

pub(crate) fn settle(
    cx: &mut Cx<'_>,
    terms: &TradeTerms,
    counterparty_sig: &Signature,
) -> Outcome<()> {
    let counterparty = if cx.signer == terms.maker {
        terms.taker
    } else if cx.signer == terms.taker {
        terms.maker
    } else {
        return Err(ErrorCode::NotTradeParty.into());
    };
    ensure(terms.maker != terms.taker, ErrorCode::SelfTransfer)?;
    ensure(cx.ctx.height <= terms.expiry_height, ErrorCode::TradeExpired)?;
    let id = terms.id();
    ensure(cx.get::<Height>(&Key::TradeSettled(id))?.is_none(), ErrorCode::TradeReplayed)?;
    ensure(cx.get::<Height>(&Key::TradeCancelled(id))?.is_none(), ErrorCode::TradeCancelled)?;
    let key =
        PublicKey::from_account(counterparty).map_err(|_| ErrorCode::BadCounterpartySignature)?;
    sig::verify(&key, &terms.signing_message(cx.chain_id), counterparty_sig)
        .map_err(|_| ErrorCode::BadCounterpartySignature)?;
    ensure(!terms.maker_gives.amount.is_zero(), ErrorCode::ZeroAmount)?;
    ensure(!terms.taker_gives.amount.is_zero(), ErrorCode::ZeroAmount)?;
    for party in [terms.maker, terms.taker] {
        cx.require_sender(party)?;
        cx.require_receiver(party)?;
    }
    require_movable(cx, &terms.maker_gives.asset)?;
    require_movable(cx, &terms.taker_gives.asset)?;
    cx.transfer(&terms.maker_gives.asset, terms.maker, terms.taker, terms.maker_gives.amount)?;
    cx.transfer(&terms.taker_gives.asset, terms.taker, terms.maker, terms.taker_gives.amount)?;
    let height = cx.ctx.height;
    cx.put(&Key::TradeSettled(id), &height);
    Ok(())
}

/// Either party cancels terms it signed, before they settle: they can never settle after.
pub(crate) fn cancel(cx: &mut Cx<'_>, terms: &TradeTerms) -> Outcome<()> {
    let party = cx.signer == terms.maker || cx.signer == terms.taker;
    ensure(party, ErrorCode::NotTradeParty)?;
    let id = terms.id();
    ensure(cx.get::<Height>(&Key::TradeSettled(id))?.is_none(), ErrorCode::TradeReplayed)?;
    ensure(cx.get::<Height>(&Key::TradeCancelled(id))?.is_none(), ErrorCode::NoChange)?;
    let height = cx.ctx.height;
    cx.put(&Key::TradeCancelled(id), &height);
    Ok(())
}
