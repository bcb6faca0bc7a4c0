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
//! | call | who | effect and refusals |
//! |---|---|---|
//! | `RegisterMember` | admin | new member with role and identity expiry; weak keys refused |
//! | `RevokeMember` | admin | member can no longer sign or receive |
//! | `Freeze` / `Unfreeze` | admin | frozen accounts neither send nor receive |
//! | `RecoverWallet` | admin | moves membership, balances and accrued revenue to a new key; old key revoked |
//! | `PauseClass` / `UnpauseClass` | admin or class issuer | paused classes do not move |
//! | `RegisterCurrency` | admin | a cash token whose issuer must have the issuer role |
//! | `Mint` / `Burn` | the currency's issuer | mint to a verified member; burn own balance |
//! | `Transfer` | holder | cash or shares to a verified, unfrozen member |
//! | `CreateClass` | issuer | plain share class with a fixed maximum supply |
//! | `CreateBatteryClass` | issuer | share class over one battery or a pool, with revenue in one currency |
//! | `IssueShares` | the class's issuer | up to the maximum supply |
//! | `RedeemShares` | holder | burns shares |
//! | `Trade` | either party | two legs signed by both parties, settles wholly or not at all, once, before expiry |
//! | `RegisterBattery` | operator, issuer | unique serial, EU passport fields, `Original`, in a warehouse |
//! | `UpdatePassportDocument` | operator, issuer | new document hash and URI; static fields fixed |
//! | `SetBatteryStatus` | operator | forward only; `Waste` terminal and refused while leased; only `Remanufactured` restores health |
//! | `MoveCustody` | operator | logistics move to a warehouse, a real station slot, a known vehicle or a recycler |
//! | `RegisterStation` / `RotateStationKey` / `DecommissionStation` | operator (its own stations) | controller key checked; the old key stops at once |
//! | `RegisterVehicle` | operator | a vehicle and the fleet account that pays its swaps |
//! | `SubmitAttestation` | anyone (relay) | a station-signed swap or energy export: see [below](#attestations) |
//! | `OpenLease` | operator, with the lessee's signature | class's batteries → lessee; deposit into escrow; one active lease per battery |
//! | `PayRent` | anyone | rent per period, to the class's holders, up to the term |
//! | `ExtendLease` | lessee | more periods (the lessor cannot change a running lease alone) |
//! | `CloseLease` | lessee (rent paid up) or lessor (after the term) | deposit back to the lessee |
//! | `DefaultLease` | lessor | only when rent is overdue past the grace period; deposit to the holders |
//! | `DepositRevenue` | holder | cash into a battery class, shared pro rata |
//! | `ClaimRevenue` | holder | accrued whole units into its cash balance |
//!
//! Only investors, issuers and operators hold assets; admins, stations and auditors do not.
//!
//! # Attestations
//! Signed by the station's current controller key; `counter == last + 1`. The same attestation
//! again is `Failed(DuplicateAttestation)`; a different one for a used counter is kept as
//! [`keys::Evidence`] (`Disputed(AttestationConflict)`); a gap is `Failed(CounterGap)`. With
//! the next counter the attestation is always recorded and the counter advances: a swap whose
//! content conflicts with the ledger (unknown vehicle or battery, wrong custody, battery not
//! leased to the vehicle's fleet, payer frozen or short of funds, wrong currency, battery
//! retired or in no class, reading out of range) is recorded as `Disputed(reason)` with no
//! other effect. A settled swap moves custody (out: vehicle → the freed station slot; in:
//! station → vehicle), updates health (state of health never rises, cycles never fall), mints a
//! [`keys::UsageReceipt`], and moves the fee from the fleet: the station operator's cut to the
//! operator, the rest to the share class of the battery that went in. Energy exports work the
//! same way, paid by the attested payer (who must sign the transaction).
//!
//! # Revenue
//! See [`revenue`]: a per-share accumulator scaled by 2⁶⁴ with the division remainder carried,
//! a checkpoint per holding settled before any share balance changes, fractions kept per
//! holder, and revenue held while no shares are outstanding.
//!
//! # Invariants (checked by [`invariants::check`] after blocks in tests)
//! - cash supply = minted − burned = Σ balances + Σ class revenue pots + Σ escrowed deposits;
//!   share supply = issued − redeemed = Σ balances;
//! - no balance below zero (amounts are unsigned, all arithmetic checked);
//! - every non-zero balance is listed in its holder's `holdings`;
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
