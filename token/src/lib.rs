//! The Volt ledger state machine: pure, deterministic, no I/O.
//!
//! [`State::apply_block`] takes a [`BlockContext`] (height and agreed time: the ledger's only
//! clock) and a block's signed transactions, and returns one [`volt_proto::Receipt`] per
//! transaction and the new state root. The same blocks give the same root on every machine.
//!
//! # Transaction pipeline
//! 1. **Authenticate** (a failure is `Rejected`: nothing changes, the nonce stays): chain id,
//!    signature (the block's signatures are batch-verified in block order), expiry height,
//!    signer registered and not revoked, `nonce == next_nonce`.
//! 2. **Execute** the call over an overlay. Success (`Applied`) keeps all its writes; a refusal
//!    (`Failed(code)`) keeps none. Either way the nonce is used, so a signed transaction applies
//!    at most once. Every call first requires the signer unfrozen and its identity current.
//!
//! # Calls (signer role → effect)
//! Auditors sign nothing. Every other call needs the signer unfrozen and its identity current
//! (admins are exempt from the identity check: they hold nothing, and a chain whose admins all
//! lapsed could otherwise never renew anyone).
//!
//! | call | who | effect and refusals |
//! |---|---|---|
//! | `RegisterMember` | admin | new member with role and identity expiry; weak keys refused |
//! | `RevokeMember` | admin | member can no longer sign or receive |
//! | `Freeze` / `Unfreeze` | admin | frozen accounts neither send nor receive |
//! | `RenewIdentity` | admin | a new identity expiry after a new verification |
//! | `RecoverWallet` | admin | moves membership, listed balances and every role to a new key, optionally with a new identity expiry; the old key is revoked; a revoked key can be recovered once (`AlreadyRecovered`) |
//! | `PauseClass` / `UnpauseClass` | admin | paused classes do not move (governance only: a pause stops holders from making room) |
//! | `RegisterCurrency` | admin | a cash token whose issuer must have the issuer role |
//! | `Mint` / `Burn` | the currency's issuer | mint to a verified member; burn own balance |
//! | `Transfer` | holder | cash or shares to a verified, unfrozen member |
//! | `CreateClass` | issuer | plain share class with a fixed maximum supply |
//! | `CreateBatteryClass` | issuer, owner (or delegate) of every battery | share class over one battery or a pool, revenue in one currency (`NotOwner`) |
//! | `IssueShares` | the class's issuer | while shares outstanding stay within the maximum supply (redeemed shares may be issued again); releases its part of held revenue |
//! | `RedeemShares` | holder | burns shares |
//! | `Trade` | either party | two legs signed by both parties, settles wholly or not at all, once, before expiry, unless cancelled |
//! | `CancelTrade` | either party | the terms can never settle (`TradeCancelled`) |
//! | `RegisterBattery` | operator, issuer | unique serial, EU passport fields, `Original`, in a warehouse; the signer owns it |
//! | `TransferBattery` | the owner offers (never a delegate) or withdraws (offers to itself); the receiver accepts | ownership moves only when accepted, from an owner in good standing |
//! | `SetDelegate` | operator, issuer | names (or drops) an operator or issuer that acts for the signer on its batteries and classes |
//! | `UpdatePassportDocument` | owner (or delegate) | new document hash and URI; static fields fixed |
//! | `SetBatteryStatus` | owner (or delegate) | forward only; `Waste` terminal and refused while leased; only `Remanufactured` restores health |
//! | `MoveCustody` | owner (or delegate) | logistics move to a warehouse, a slot of a station whose operator the signer acts for, a recycler, or a vehicle of the fleet the battery is leased to; never out of its lessee's vehicle mid-lease |
//! | `RegisterStation` / `RotateStationKey` / `DecommissionStation` | operator (its own stations) | controller key checked; the old key stops at once |
//! | `RegisterVehicle` | the fleet itself | the signer pays the vehicle's swaps |
//! | `SubmitAttestation` | anyone but auditors (relay) | a station-signed swap or energy export: see [below](#attestations) |
//! | `OpenLease` | the class's issuer (the lessor the terms name) or its delegate (never to itself), with the lessee's signature over the terms | before the offer expiry; every date of the longest term plus grace computable; deposit into escrow; one active lease per battery |
//! | `PayRent` | anyone | rent into escrow, credited to the class as each paid period starts |
//! | `SettleLease` | anyone | credits the rent of paid periods started so far |
//! | `ExtendLease` | lessee | before the term ends, within the extension cap in the terms |
//! | `CloseLease` | lessee (rent paid through the periods started plus the notice in the terms) or lessor (after the term, all rent paid) | rent beyond what is owed and the deposit back to the lessee, or kept in escrow while it cannot receive (the lessee can never stop its lease from ending) |
//! | `DefaultLease` | lessor (or delegate) | only when rent is overdue past the grace period; deposit to the holders |
//! | `ReleaseDeposit` | anyone | an ended lease's escrowed deposit to its lessee, once it can receive |
//! | `DepositRevenue` | holder | cash into a battery class, shared pro rata |
//! | `ClaimRevenue` | holder | accrued whole units into its cash balance |
//!
//! Only investors, issuers and operators hold assets; admins, stations and auditors do not.
//!
//! # Ownership and consent
//! Roles say who may call; ownership and consent say on what. Each thing has an owner, a set of
//! accounts that may change it, and a rule for whose signature a balance decrease needs:
//!
//! | thing | owner | who may change it | consent for money leaving an account |
//! |---|---|---|---|
//! | a balance | its holder | transfers, trades, redemptions, claims by the holder | the holder signs; a trade's other party signs the terms |
//! | cash token | its issuer | mint, burn: the issuer | burn takes only the issuer's own balance |
//! | share class | its issuer | issue: the issuer; pause: issuer or admin; battery list fixed at creation by the batteries' owners (or delegates) | — |
//! | battery | its owner (registrar, transferable by offer and accept) | passport, status, custody, class: the owner or its delegate; custody and health in a swap: the controller of a station the owner approved (its operator is the owner or the owner's delegate), only for a battery leased to the vehicle's fleet | — |
//! | vehicle | its fleet (registered by the fleet itself) | nobody else | the fleet pays a swap fee only through a lease it signed, at most its tariff (`fee_per_swap_max + fee_per_kwh_max · kWh`, the energy at most the battery's rated energy) |
//! | lease | lessor (the class's issuer) and lessee | opened by the lessor's side with the lessee's signature over terms naming both; extended by the lessee within the cap; closed as the terms say; defaulted by the lessor only when overdue past grace | the lessee's deposit at opening (signed terms); rent only by whoever pays it |
//! | station | its operator | key rotation, decommission: the operator | the operator's cut comes out of the fee the tariff allowed |
//! | energy export | — | — | the attested payer signs the relaying transaction |
//! | member | itself; admins govern | freeze, revoke, renew, recover: admins | recovery moves the lost key's balances to the new key (governance) |
//!
//! Delegations (`SetDelegate`) are recorded in state under their own keys and checked when used;
//! they are suspended while the granter is frozen or revoked and lapse when its wallet is
//! recovered. A delegate runs the owner's batteries and leases; it cannot give a battery away.
//!
//! What the ledger cannot tell: a station approved by a battery's owner may attest swaps that
//! never happened, each within the fleet's tariff; that is the station operator's fraud, kept on
//! the ledger as signed evidence, and the reason owners approve stations. Names (vehicle plates,
//! serials) go to whoever registers them first. The property test
//! `tests/prop_consent.rs` checks this table after every transaction of adversarial runs.
//!
//! # Bounded records
//! A member record has a fixed size: what it holds and the roles it has are listed under their
//! own keys ([`keys::Key::Holds`], [`keys::Key::DutyOf`]), at most [`keys::MEMBER_ASSETS_MAX`]
//! assets and [`keys::MEMBER_DUTIES_MAX`] roles (`TooManyHoldings`, `TooManyDuties`). Others can
//! send a member new assets, so the member can always make room: a balance that reaches zero
//! drops out of the list. Zero amounts neither debit nor credit nor create records. Every write
//! over [`STATE_VALUE_BYTES_MAX`] fails its transaction with `RecordTooLarge`, so no stored value
//! is ever too large to read back.
//!
//! # Attestations
//! Signed by the station's current controller key; `counter == last + 1`. The same attestation
//! again is `Failed(DuplicateAttestation)`; a different one for a used counter is kept as
//! [`keys::Evidence`] (`Disputed(AttestationConflict)`); a gap is `Failed(CounterGap)`. With
//! the next counter the attestation is always recorded and the counter advances: a swap whose
//! content conflicts with the ledger (unknown vehicle or battery, wrong custody, battery not
//! leased to the vehicle's fleet, fee above the lease's tariff, payer frozen or short of
//! funds, wrong currency, battery retired or in no class, reading out of range) is recorded as
//! `Disputed(reason)` with no other effect. A settled swap moves custody (out: vehicle → the freed station slot; in:
//! station → vehicle), updates health (state of health never rises, cycles never fall), mints a
//! [`keys::UsageReceipt`], and moves the fee from the fleet: the station operator's cut to the
//! operator, the rest to the share class of the battery that went in. The station keeps its
//! settled fees and cut per currency. Energy exports work the same way, paid by the attested
//! payer (who must sign the transaction).
//!
//! # Revenue
//! See [`revenue`]: a per-share accumulator scaled by 2⁶⁴ with the division remainder carried,
//! a checkpoint per holding settled before any share balance changes, fractions kept per
//! holder. Revenue arriving while no shares are outstanding is held for the shares not yet
//! issued and released pro rata as they are issued. Rent paid ahead waits in the lease's escrow
//! and reaches the class as each paid period starts (on any `PayRent`, `SettleLease`,
//! `CloseLease` or `DefaultLease`).
//!
//! What remains capturable, and why: revenue reaches holders when it is recorded, so a buyer of
//! shares just before a lump is recorded shares in it. Lumps are now small and visible ahead:
//! at most the rent of the periods started since the lease was last touched (anyone may call
//! `SettleLease` each period), and a forfeited deposit, which can only follow rent overdue past
//! the grace period, in plain sight on the ledger, so the share price can reflect it. Making
//! every lump time-weighted would need per-block work over all leases; the ledger does O(1)
//! work per call instead.
//!
//! # Invariants (checked by [`invariants::check`] after blocks in tests)
//! - cash supply = minted − burned = Σ balances + Σ class revenue pots + Σ escrowed deposits
//!   and rent; an ended lease escrows only an undelivered deposit, and an active lease's rent
//!   escrow is exactly its paid, not yet credited periods;
//!   share supply = issued − redeemed = Σ balances;
//! - no balance below zero (amounts are unsigned, all arithmetic checked);
//! - every balance with shares, cash or a whole unit of revenue is listed under
//!   [`keys::Key::Holds`], every listing names a balance, no balance record is empty, and each
//!   member's `assets` and `duties` counts match its index entries; every role index entry names
//!   a record that names the member in that role, and every battery's owner is indexed;
//! - revenue deposited = claimed + claimable + carried remainder, exactly (in 2⁻⁶⁴ units);
//! - one custodian per battery (custody is one value); at most one active lease per battery,
//!   and every active lease holds each battery of its class;
//! - station counters gap-free: records exist for exactly `1..=counter`;
//! - across blocks ([`invariants::check_transition`]): status forward only, state of health
//!   never rises unless remanufactured, cycles and nonces never fall;
//! - nonces strictly sequential per account;
//! - the same blocks give the same state root on every replica.
//!
//! # State root
//! [`tree`] commits to every stored key and value; [`State::prove`] returns a proof a wallet
//! checks alone with [`tree::verify`].

mod calls;
mod exec;
pub mod invariants;
pub mod keys;
pub mod revenue;
mod state;
pub mod store;
pub mod testkit;
pub mod tree;

pub use calls::batteries::CLASS_BATTERIES_MAX;
pub use exec::{BlockContext, STATE_VALUE_BYTES_MAX};
pub use keys::Key;
pub use state::{
    BLOCK_TXS_MAX, BlockError, BlockResult, Genesis, GenesisError, GenesisMember, State,
};
pub use store::{MemStore, StorageError, Store};
