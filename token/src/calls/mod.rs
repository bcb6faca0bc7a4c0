//! The calls, one module per family, dispatched by [`execute`].

pub(crate) mod attest;
pub(crate) mod batteries;
pub(crate) mod cash;
pub(crate) mod leases;
pub(crate) mod membership;
pub(crate) mod revenue;
pub(crate) mod shares;
pub(crate) mod stations;
pub(crate) mod trade;

use crate::exec::{Cx, Outcome, ensure};
use volt_proto::{Call, ErrorCode, Role};

/// How a call that ran to the end came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// It did what it asked.
    Applied,
    /// An attestation was recorded, but as disputed or conflicting for this reason.
    Disputed(ErrorCode),
}

/// Runs one call for an authenticated signer. The signer must be unfrozen and its identity
/// current for any call.
///
/// Auditors sign nothing: they read. Admins hold no assets, so a lapsed identity does not stop
/// governance (otherwise a chain whose admins all lapsed could never renew anyone).
pub(crate) fn execute(cx: &mut Cx<'_>, call: &Call) -> Outcome<Done> {
    let signer = cx.signer_member()?;
    ensure(signer.role != Role::Auditor, ErrorCode::WrongRole)?;
    ensure(!signer.frozen, ErrorCode::SignerFrozen)?;
    let current = signer.identity_expiry > cx.ctx.time || signer.role == Role::Admin;
    ensure(current, ErrorCode::IdentityExpired)?;
    if let Call::SubmitAttestation { attestation, signature } = call {
        return attest::submit(cx, attestation, signature);
    }
    execute_plain(cx, call).map(|()| Done::Applied)
}

fn execute_plain(cx: &mut Cx<'_>, call: &Call) -> Outcome<()> {
    match call {
        Call::RegisterMember { account, role, identity_expiry } => {
            membership::register(cx, *account, *role, *identity_expiry)
        }
        Call::RevokeMember { account, reason: _ } => membership::revoke(cx, *account),
        Call::Freeze { account, reason: _ } => membership::set_frozen(cx, *account, true),
        Call::Unfreeze { account } => membership::set_frozen(cx, *account, false),
        Call::RecoverWallet { lost, new, identity_expiry, reason: _ } => {
            membership::recover(cx, *lost, *new, *identity_expiry)
        }
        Call::RenewIdentity { account, identity_expiry } => {
            membership::renew(cx, *account, *identity_expiry)
        }
        Call::PauseClass { class } => membership::set_paused(cx, class, true),
        Call::UnpauseClass { class } => membership::set_paused(cx, class, false),
        Call::RegisterCurrency { currency, issuer } => cash::register(cx, currency, *issuer),
        Call::Mint { currency, to, amount } => cash::mint(cx, currency, *to, *amount),
        Call::Burn { currency, amount } => cash::burn(cx, currency, *amount),
        Call::Transfer { asset, to, amount } => cash::transfer(cx, asset, *to, *amount),
        Call::CreateClass { class, name, supply_max } => {
            shares::create(cx, class, name, *supply_max)
        }
        Call::IssueShares { class, to, amount } => shares::issue(cx, class, *to, *amount),
        Call::RedeemShares { class, amount } => shares::redeem(cx, class, *amount),
        Call::Trade { terms, counterparty_signature } => {
            trade::settle(cx, terms, counterparty_signature)
        }
        Call::CancelTrade { terms } => trade::cancel(cx, terms),
        Call::TransferBattery { serial, to } => batteries::transfer(cx, serial, *to),
        Call::SetDelegate { delegate, allowed } => batteries::set_delegate(cx, *delegate, *allowed),
        Call::RegisterBattery { serial, passport, warehouse } => {
            batteries::register(cx, serial, passport, warehouse)
        }
        Call::UpdatePassportDocument { serial, document_hash, document_uri } => {
            batteries::update_document(cx, serial, *document_hash, document_uri)
        }
        Call::SetBatteryStatus { serial, status, soh_permille } => {
            batteries::set_status(cx, serial, *status, *soh_permille)
        }
        Call::MoveCustody { serial, to } => batteries::move_custody(cx, serial, to),
        Call::CreateBatteryClass { class, name, supply_max, batteries: list, revenue_currency } => {
            batteries::create_class(cx, class, name, *supply_max, list, revenue_currency)
        }
        Call::RegisterStation { station, controller, location, slots, operator_cut_bps } => {
            stations::register(cx, station, *controller, location, *slots, *operator_cut_bps)
        }
        Call::RotateStationKey { station, controller } => {
            stations::rotate_key(cx, station, *controller)
        }
        Call::DecommissionStation { station } => stations::decommission(cx, station),
        Call::RegisterVehicle { vehicle } => stations::register_vehicle(cx, vehicle),
        // Attestations return early in `execute`, as they may be recorded as disputed.
        Call::SubmitAttestation { .. } => Err(ErrorCode::OutOfRange.into()),
        Call::OpenLease { terms, lessee_signature } => leases::open(cx, terms, lessee_signature),
        Call::PayRent { lease, periods } => leases::pay_rent(cx, *lease, *periods),
        Call::ExtendLease { lease, periods } => leases::extend(cx, *lease, *periods),
        Call::CloseLease { lease } => leases::close(cx, *lease),
        Call::DefaultLease { lease } => leases::default(cx, *lease),
        Call::SettleLease { lease } => leases::settle(cx, *lease),
        Call::ReleaseDeposit { lease } => leases::release_deposit(cx, *lease),
        Call::DepositRevenue { class, amount } => revenue::deposit(cx, class, *amount),
        Call::ClaimRevenue { class } => revenue::claim(cx, class),
    }
}
