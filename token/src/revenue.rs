//! Revenue sharing: an accumulator of revenue per share with a checkpoint per holder.
//!
//! Depositing `a` units into a class with `S` shares outstanding adds `⌊(a·2⁶⁴ + carry) / S⌋`
//! to `per_share` and keeps the remainder in `carry`; a holder of `n` shares earns
//! `n · (per_share − checkpoint)` scaled units since its checkpoint. Both are O(1) whatever the
//! number of holders. A holding is *settled* (earnings moved into `revenue_accrued`, checkpoint
//! moved to `per_share`) before its share balance changes, so earnings always use the balance
//! actually held while the revenue arrived. Claims pay whole units and keep the fraction, so no
//! claim schedule loses or gains anything. Revenue arriving while no shares are outstanding is
//! `held` for the shares not outstanding: each issuance of `a` of the `u` shares the cap still
//! allows (`supply_max − outstanding`; redeemed shares may be issued again) releases
//! `⌊held · a / u⌋` to its receiver, so issuing one share to yourself releases one share's
//! part, not the pot, and the pot always has shares to reach.
//!
//! Exact conservation, in scaled units (checked by [`crate::invariants`]):
//! `(deposited − held − claimed) · 2⁶⁴ = Σ holders (accrued + n · (per_share − checkpoint)) + carry`.
//!
//! Bounds: all revenue ever deposited into a class stays below 2⁶⁴ units (1.8·10¹⁹ minor units);
//! past it the call fails with `Overflow` and nothing changes. That keeps every scaled product
//! (`shares · Δper_share`, accrued sums) inside a u128.

use crate::keys::{Holding, Revenue};
use volt_proto::{Amount, ErrorCode};

/// Revenue per share is scaled by 2^SCALE_BITS.
pub const SCALE_BITS: u32 = 64;

/// Adds `amount` of revenue for `outstanding` shares.
pub(crate) fn distribute(
    revenue: &mut Revenue,
    amount: Amount,
    outstanding: Amount,
) -> Result<(), ErrorCode> {
    // Every holder's pending revenue is `shares · Δper_share ≤ units since its checkpoint · 2⁶⁴`,
    // so keeping all revenue ever deposited below 2⁶⁴ units keeps every product in a u128.
    let deposited = revenue.deposited.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    if deposited.0 >> (128 - SCALE_BITS) != 0 {
        return Err(ErrorCode::Overflow);
    }
    revenue.pot = revenue.pot.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    revenue.deposited = deposited;
    if outstanding.is_zero() {
        revenue.held = revenue.held.checked_add(amount).ok_or(ErrorCode::Overflow)?;
        return Ok(());
    }
    let scaled = scale(amount)?.checked_add(revenue.carry).ok_or(ErrorCode::Overflow)?;
    let delta = scaled / outstanding.0;
    let per_share = revenue.per_share.checked_add(delta).ok_or(ErrorCode::Overflow)?;
    revenue.per_share = per_share;
    revenue.carry = scaled % outstanding.0;
    Ok(())
}

/// Adds whole `units` of revenue straight to a holder (held revenue released at issuance).
pub(crate) fn add_units(holding: &mut Holding, units: Amount) -> Result<(), ErrorCode> {
    holding.revenue_accrued =
        holding.revenue_accrued.checked_add(scale(units)?).ok_or(ErrorCode::Overflow)?;
    Ok(())
}

/// Scaled earnings of `holding` since its checkpoint.
pub(crate) fn pending(holding: &Holding, per_share: u128) -> Result<u128, ErrorCode> {
    let delta = per_share.checked_sub(holding.revenue_checkpoint).ok_or(ErrorCode::Overflow)?;
    holding.amount.0.checked_mul(delta).ok_or(ErrorCode::Overflow)
}

/// Moves `holding`'s earnings into `revenue_accrued` and its checkpoint to `per_share`.
pub(crate) fn settle(holding: &mut Holding, per_share: u128) -> Result<(), ErrorCode> {
    let earned = pending(holding, per_share)?;
    holding.revenue_accrued =
        holding.revenue_accrued.checked_add(earned).ok_or(ErrorCode::Overflow)?;
    holding.revenue_checkpoint = per_share;
    Ok(())
}

/// Whole units `holding` could claim now.
pub fn claimable(holding: &Holding, per_share: u128) -> Result<Amount, ErrorCode> {
    let total = holding.revenue_accrued.checked_add(pending(holding, per_share)?);
    Ok(Amount(total.ok_or(ErrorCode::Overflow)? >> SCALE_BITS))
}

/// Takes the whole units out of a settled holding, keeping the fraction.
pub(crate) fn take_whole_units(holding: &mut Holding) -> Amount {
    let units = holding.revenue_accrued >> SCALE_BITS;
    holding.revenue_accrued -= units << SCALE_BITS;
    Amount(units)
}

/// `⌊a · b / d⌋` exactly, with the product in 256 bits; `None` if `d` is zero or the quotient
/// does not fit a u128. (Held revenue times a tranche of shares can pass 2¹²⁸ although the
/// result, a part of the held revenue, is small.)
pub(crate) fn mul_div(a: u128, b: u128, d: u128) -> Option<u128> {
    const LOW: u128 = u64::MAX as u128;
    let (a_hi, a_lo, b_hi, b_lo) = (a >> 64, a & LOW, b >> 64, b & LOW);
    let (ll, lh, hl, hh) = (a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi);
    let mid = (ll >> 64) + (lh & LOW) + (hl & LOW);
    let lo = (ll & LOW) | (mid << 64);
    let hi = hh + (lh >> 64) + (hl >> 64) + (mid >> 64);
    if d == 0 || hi >= d {
        return None;
    }
    // Restoring division of (hi, lo) by d, one bit of `lo` at a time; `hi < d` throughout.
    let (mut rem, mut quotient) = (hi, 0u128);
    for bit in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            quotient |= 1;
        }
    }
    Some(quotient)
}

fn scale(units: Amount) -> Result<u128, ErrorCode> {
    if units.0 >> (128 - SCALE_BITS) != 0 {
        return Err(ErrorCode::Overflow);
    }
    Ok(units.0 << SCALE_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revenue() -> Revenue {
        Revenue::new(volt_proto::Symbol::new("HKD").unwrap())
    }

    fn holding(amount: u128) -> Holding {
        Holding { amount: Amount(amount), ..Holding::default() }
    }

    #[test]
    fn thirds_carry_the_remainder_and_pay_out_exactly() {
        // Proves 10 units over 3 equal holders leaves nothing behind after enough deposits.
        let mut r = revenue();
        let mut holders = [holding(1), holding(1), holding(1)];
        for _ in 0..3 {
            distribute(&mut r, Amount(10), Amount(3)).unwrap();
        }
        let paid: u128 = holders
            .iter_mut()
            .map(|h| {
                settle(h, r.per_share).unwrap();
                take_whole_units(h).0
            })
            .sum();
        // 30 units over 3 holders: each gets 10, up to the scaled carry.
        assert_eq!(paid, 30);
    }

    #[test]
    fn revenue_at_zero_supply_is_held_for_unissued_shares() {
        // Proves revenue arriving with no shares outstanding is not lost.
        let mut r = revenue();
        distribute(&mut r, Amount(50), Amount::ZERO).unwrap();
        assert_eq!((r.held, r.per_share), (Amount(50), 0));
        distribute(&mut r, Amount(50), Amount(4)).unwrap();
        // Held revenue waits for issuance; it does not join later deposits.
        assert_eq!(r.held, Amount(50));
        assert_eq!(claimable(&holding(4), r.per_share).unwrap(), Amount(50));
    }

    #[test]
    fn claim_frequency_does_not_change_the_total() {
        // Proves claiming after every deposit pays the same as claiming once at the end.
        let mut r = revenue();
        let mut often = holding(3);
        let once = holding(3);
        let mut paid_often = 0;
        for amount in [7u128, 1, 13, 2, 5, 11] {
            distribute(&mut r, Amount(amount), Amount(7)).unwrap();
            settle(&mut often, r.per_share).unwrap();
            paid_often += take_whole_units(&mut often).0;
        }
        settle(&mut often, r.per_share).unwrap();
        paid_often += take_whole_units(&mut often).0;
        assert_eq!(paid_often, claimable(&once, r.per_share).unwrap().0);
    }

    #[test]
    fn mul_div_is_exact_past_128_bits() {
        // Proves the 256-bit multiply-then-divide matches u128 arithmetic where that fits and
        // stays exact where the product does not.
        for (a, b, d) in [(7u128, 9, 4), (0, 5, 3), (1 << 63, 1 << 63, 1 << 60), (u128::MAX, 1, 1)]
        {
            assert_eq!(mul_div(a, b, d), a.checked_mul(b).map(|p| p / d));
        }
        let held = (1u128 << 64) - 1;
        assert_eq!(mul_div(held, 1 << 126, 1 << 127), Some(held / 2));
        assert_eq!(mul_div(held, u128::MAX, u128::MAX), Some(held));
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), Some(u128::MAX));
        assert_eq!(mul_div(u128::MAX, 2, 1), None);
        assert_eq!(mul_div(1, 1, 0), None);
    }

    #[test]
    fn oversized_deposit_is_an_overflow_error() {
        // Proves amounts past the scaling bound fail cleanly instead of wrapping.
        let mut r = revenue();
        assert_eq!(distribute(&mut r, Amount(u128::MAX >> 1), Amount(1)), Err(ErrorCode::Overflow));
    }
}
