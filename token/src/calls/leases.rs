//! Leases of a share class's batteries: open (deposit into escrow), pay rent, extend, close,
//! default. Time comes only from the block context.
//!
//! Whose is it: the class's issuer (the lessor named in the terms) or its delegate opens a
//! lease with the lessee's signature over terms that name both, a fee tariff and an offer
//! expiry. Rent for a period is due at the period's start; rent paid ahead waits in escrow and
//! reaches the class as each period starts. A lease is in good standing while the first unpaid
//! period started less than `grace_ms` ago. The lessor cannot end or change a running lease
//! alone; only a default (rent overdue past the grace period) or the end of the term lets it
//! act. The lessee may extend within the cap the terms set, before the term ends, and may
//! close early with the notice the terms set paid. Leases name the class, not its holders, so
//! they survive share transfers.

use crate::calls::batteries::{battery, class_batteries};
use crate::exec::{Cx, Fail, Outcome, ensure};
use crate::keys::{Battery, Duty, Key, Lease, LeaseStatus, ShareClass};
use volt_proto::sig::{self, PublicKey};
use volt_proto::{Amount, Asset, BatteryStatus, ErrorCode, Hash, LeaseTerms, Role, Signature};

fn lease(cx: &Cx<'_>, id: Hash) -> Outcome<Lease> {
    let record: Lease = cx.get(&Key::Lease(id))?.ok_or(ErrorCode::UnknownLease)?;
    ensure(record.status == LeaseStatus::Active, ErrorCode::LeaseNotActive)?;
    Ok(record)
}

fn cash_of(cx: &Cx<'_>, terms: &LeaseTerms) -> Outcome<Asset> {
    let class: ShareClass =
        cx.get(&Key::Class(terms.class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    let revenue = class.revenue.ok_or(ErrorCode::NoRevenue)?;
    Ok(Asset::Cash(revenue.currency))
}

/// Milliseconds from the lease start to the start of `period` (0-based).
fn period_start_ms(record: &Lease, period: u32) -> Outcome<u64> {
    let offset = record.terms.period_ms.checked_mul(u64::from(period));
    let offset = offset.ok_or(ErrorCode::Overflow)?;
    Ok(record.start.0.checked_add(offset).ok_or(ErrorCode::Overflow)?)
}

/// Periods whose rent is due by now: every period that has started, up to the term.
fn periods_due(cx: &Cx<'_>, record: &Lease) -> u32 {
    let elapsed = cx.ctx.time.0.saturating_sub(record.start.0);
    let started = elapsed / record.terms.period_ms + 1;
    u32::try_from(started).unwrap_or(u32::MAX).min(record.periods_total)
}

pub(crate) fn open(
    cx: &mut Cx<'_>,
    terms: &LeaseTerms,
    lessee_signature: &Signature,
) -> Outcome<()> {
    cx.require_role(&[Role::Operator, Role::Issuer])?;
    let valid_terms = terms.period_ms > 0 && terms.periods > 0;
    ensure(valid_terms, ErrorCode::OutOfRange)?;
    ensure(cx.ctx.time <= terms.offer_expiry, ErrorCode::OfferExpired)?;
    let class: ShareClass =
        cx.get(&Key::Class(terms.class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    ensure(terms.lessor == class.issuer, ErrorCode::NotLessorOfTerms)?;
    cx.require_acts_for(class.issuer)?;
    // A delegate runs the issuer's leases; it does not lease the issuer's class to itself.
    let self_dealing = cx.signer != class.issuer && cx.signer == terms.lessee;
    ensure(!self_dealing, ErrorCode::NotOwner)?;
    // Every date the lease can ever need (the longest term, plus grace) must be computable.
    let longest = u64::from(terms.periods).checked_add(u64::from(terms.extension_periods_max));
    let span = longest.and_then(|p| p.checked_mul(terms.period_ms));
    let last =
        span.and_then(|s| s.checked_add(terms.grace_ms)).and_then(|s| s.checked_add(cx.ctx.time.0));
    ensure(last.is_some(), ErrorCode::OutOfRange)?;
    let batteries = class_batteries(cx, &terms.class)?;
    ensure(!batteries.is_empty(), ErrorCode::NoRevenue)?;
    let cash = cash_of(cx, terms)?;
    let id = terms.id();
    ensure(cx.get::<Lease>(&Key::Lease(id))?.is_none(), ErrorCode::AlreadyExists)?;
    let key = PublicKey::from_account(terms.lessee).map_err(|_| ErrorCode::BadLesseeSignature)?;
    sig::verify(&key, &terms.signing_message(cx.chain_id), lessee_signature)
        .map_err(|_| ErrorCode::BadLesseeSignature)?;
    cx.require_sender(terms.lessee)?;
    cx.require_receiver(terms.lessee)?;
    for serial in &batteries {
        let mut record: Battery = battery(cx, serial)?;
        ensure(record.status != BatteryStatus::Waste, ErrorCode::BatteryRetired)?;
        ensure(record.lease.is_none(), ErrorCode::BatteryLeased)?;
        record.lease = Some(id);
        cx.put(&Key::Battery(serial.clone()), &record);
    }
    cx.debit(&cash, terms.lessee, terms.deposit)?;
    let record = Lease {
        terms: terms.clone(),
        lessor: terms.lessor,
        lessee: terms.lessee,
        start: cx.ctx.time,
        periods_total: terms.periods,
        periods_paid: 0,
        periods_released: 0,
        rent_held: Amount::ZERO,
        deposit_held: terms.deposit,
        status: LeaseStatus::Active,
    };
    cx.put(&Key::Lease(id), &record);
    cx.add_duty(terms.lessor, Duty::Lessor(id))?;
    cx.add_duty(terms.lessee, Duty::Lessee(id))
}

/// Rent of `periods` periods.
fn rent(record: &Lease, periods: u32) -> Outcome<Amount> {
    let amount = record.terms.rent_per_period.0.checked_mul(u128::from(periods));
    Ok(Amount(amount.ok_or(ErrorCode::Overflow)?))
}

/// Credits the class with the rent of every paid period that has started and was not credited
/// yet; returns how many periods that was. Rent paid ahead waits in escrow for its period, so
/// it reaches the holders of that period, not whoever held shares when it was paid.
fn release_due(cx: &mut Cx<'_>, record: &mut Lease) -> Outcome<u32> {
    let through = record.periods_paid.min(periods_due(cx, record));
    let periods = through.saturating_sub(record.periods_released);
    release(cx, record, periods)?;
    Ok(periods)
}

/// Moves the rent of `periods` paid periods from escrow to the class.
fn release(cx: &mut Cx<'_>, record: &mut Lease, periods: u32) -> Outcome<()> {
    let amount = rent(record, periods)?;
    record.rent_held = record.rent_held.checked_sub(amount).ok_or(ErrorCode::Overflow)?;
    record.periods_released =
        record.periods_released.checked_add(periods).ok_or(ErrorCode::Overflow)?;
    if !amount.is_zero() {
        cx.distribute(&record.terms.class, amount)?;
    }
    Ok(())
}

pub(crate) fn pay_rent(cx: &mut Cx<'_>, id: Hash, periods: u32) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    ensure(periods > 0, ErrorCode::ZeroAmount)?;
    let mut record = lease(cx, id)?;
    let paid = record.periods_paid.checked_add(periods).ok_or(ErrorCode::Overflow)?;
    ensure(paid <= record.periods_total, ErrorCode::RentBeyondTerm)?;
    let amount = rent(&record, periods)?;
    let cash = cash_of(cx, &record.terms)?;
    cx.debit(&cash, cx.signer, amount)?;
    record.rent_held = record.rent_held.checked_add(amount).ok_or(ErrorCode::Overflow)?;
    record.periods_paid = paid;
    release_due(cx, &mut record)?;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

/// Credits the rent of the paid periods started so far (anyone may ask).
pub(crate) fn settle(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let mut record = lease(cx, id)?;
    ensure(release_due(cx, &mut record)? > 0, ErrorCode::NothingToRelease)?;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

/// The lessee adds periods alone only before the term ends and within the extension cap the
/// lessor agreed to in the terms.
pub(crate) fn extend(cx: &mut Cx<'_>, id: Hash, periods: u32) -> Outcome<()> {
    let mut record = lease(cx, id)?;
    ensure(record.lessee == cx.signer, ErrorCode::NotLessee)?;
    ensure(periods > 0, ErrorCode::ZeroAmount)?;
    let term_end = period_start_ms(&record, record.periods_total)?;
    ensure(cx.ctx.time.0 < term_end, ErrorCode::TermOver)?;
    let total = record.periods_total.checked_add(periods).ok_or(ErrorCode::Overflow)?;
    let extended = total.saturating_sub(record.terms.periods);
    ensure(extended <= record.terms.extension_periods_max, ErrorCode::ExtensionCapExceeded)?;
    record.periods_total = total;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

/// Ends the lease: frees its batteries, credits the rent of the first `owed` periods to the
/// class and returns any rent paid beyond them with the deposit, and settles the deposit (to
/// the holders on default; back to the lessee otherwise, or kept in escrow while the lessee
/// cannot receive it).
fn end(
    cx: &mut Cx<'_>,
    id: Hash,
    mut record: Lease,
    status: LeaseStatus,
    owed: u32,
) -> Outcome<()> {
    for serial in &class_batteries(cx, &record.terms.class)? {
        let mut battery: Battery = battery(cx, serial)?;
        if battery.lease == Some(id) {
            battery.lease = None;
            cx.put(&Key::Battery(serial.clone()), &battery);
        }
    }
    let credited = owed.min(record.periods_paid).saturating_sub(record.periods_released);
    release(cx, &mut record, credited)?;
    // Rent paid for periods the lessee does not owe goes back with the deposit.
    let refund = std::mem::replace(&mut record.rent_held, Amount::ZERO);
    record.deposit_held = record.deposit_held.checked_add(refund).ok_or(ErrorCode::Overflow)?;
    let delivered = match status {
        LeaseStatus::Defaulted => {
            let deposit = record.deposit_held;
            if !deposit.is_zero() {
                cx.distribute(&record.terms.class, deposit)?;
            }
            true
        }
        _ => deliver_deposit(cx, &record)?,
    };
    if delivered {
        record.deposit_held = Amount::ZERO;
        cx.remove_duty(record.lessee, Duty::Lessee(id))?;
    }
    cx.remove_duty(record.lessor, Duty::Lessor(id))?;
    record.status = status;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

/// Pays the escrowed deposit to the lessee if it can receive it now; false (and nothing
/// written) if it cannot, whatever the reason (frozen, revoked, lapsed, holdings full), so a
/// lessee can never stop its lease from ending.
fn deliver_deposit(cx: &mut Cx<'_>, record: &Lease) -> Outcome<bool> {
    if record.deposit_held.is_zero() {
        return Ok(true);
    }
    let snapshot = cx.snapshot();
    let delivered = cx.require_receiver(record.lessee).and_then(|_| {
        let cash = cash_of(cx, &record.terms)?;
        cx.credit(&cash, record.lessee, record.deposit_held)
    });
    match delivered {
        Ok(()) => Ok(true),
        Err(Fail::Code(_)) => {
            cx.restore(snapshot);
            Ok(false)
        }
        Err(storage) => Err(storage),
    }
}

pub(crate) fn close(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let record = lease(cx, id)?;
    let owed = if cx.signer == record.lessee {
        // Early, the lessee owes the notice periods the terms set; at the end, the whole term.
        let notice = periods_due(cx, &record).saturating_add(record.terms.notice_periods);
        notice.min(record.periods_total)
    } else if cx.acts_for(record.lessor)? {
        let term_end = period_start_ms(&record, record.periods_total)?;
        ensure(cx.ctx.time.0 >= term_end, ErrorCode::TermNotOver)?;
        record.periods_total
    } else {
        return Err(ErrorCode::NotLessee.into());
    };
    ensure(record.periods_paid >= owed, ErrorCode::RentOutstanding)?;
    end(cx, id, record, LeaseStatus::Closed, owed)
}

pub(crate) fn default(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let record = lease(cx, id)?;
    ensure(cx.acts_for(record.lessor)?, ErrorCode::NotLessor)?;
    ensure(record.periods_paid < record.periods_total, ErrorCode::LeaseInGoodStanding)?;
    let overdue_since = period_start_ms(&record, record.periods_paid)?;
    let deadline = overdue_since.checked_add(record.terms.grace_ms).ok_or(ErrorCode::Overflow)?;
    ensure(cx.ctx.time.0 > deadline, ErrorCode::LeaseInGoodStanding)?;
    let owed = record.periods_paid;
    end(cx, id, record, LeaseStatus::Defaulted, owed)
}

/// Pays a deposit kept in escrow after the lease ended to the lessee, once it can receive.
pub(crate) fn release_deposit(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let mut record: Lease = cx.get(&Key::Lease(id))?.ok_or(ErrorCode::UnknownLease)?;
    ensure(record.status != LeaseStatus::Active, ErrorCode::LeaseNotActive)?;
    ensure(!record.deposit_held.is_zero(), ErrorCode::NothingToRelease)?;
    cx.require_receiver(record.lessee)?;
    ensure(deliver_deposit(cx, &record)?, ErrorCode::ReceiverNotVerified)?;
    record.deposit_held = Amount::ZERO;
    cx.remove_duty(record.lessee, Duty::Lessee(id))?;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}
