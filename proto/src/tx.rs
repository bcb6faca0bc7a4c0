//! The signed transaction envelope and the calls it carries.

use crate::battery::{Attestation, BatteryStatus, Custody, LeaseTerms, Passport, Serial};
use crate::codec::{self, CodecError};
use crate::sig::{self, Domain, Keypair};
use crate::{AccountId, Amount, ChainId, Hash, Height, Nonce, Signature, Symbol, Text, Timestamp};
use serde::{Deserialize, Serialize};

/// Largest canonical encoding of a [`SignedTx`], in bytes. Sized so the largest legitimate
/// call fits: a battery class of 1,000 serials of up to 50 bytes (~58 KB).
pub const TX_BYTES_MAX: usize = 64 * 1024;

/// A transaction: a body and its signer's signature over
/// `signing_message(Domain::Tx, body.chain_id, encode(body))`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    /// What is signed.
    pub body: TxBody,
    /// The signer's signature.
    pub signature: Signature,
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBody {
    /// The chain this transaction is for.
    pub chain_id: ChainId,
    /// Who signs and pays; must be a registered member.
    pub signer: AccountId,
    /// The signer's next nonce: exactly one more than their last accepted transaction.
    pub nonce: Nonce,
    /// Last height at which this transaction may be included.
    pub expiry_height: Height,
    /// What to do.
    pub call: Call,
}

impl TxBody {
    /// The transaction id: blake3 of the canonical body.
    pub fn id(&self) -> Hash {
        codec::hash(self)
    }

    /// The exact bytes the signer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        sig::signing_message(Domain::Tx, &self.chain_id, &codec::encode(self))
    }

    /// Signs the body with `keypair` (whose account should be `self.signer`).
    pub fn sign(self, keypair: &Keypair) -> SignedTx {
        let signature = keypair.sign_raw(&self.signing_message());
        SignedTx { body: self, signature }
    }
}

impl SignedTx {
    /// The transaction id (the body's id; the signature is not part of it).
    pub fn id(&self) -> Hash {
        self.body.id()
    }

    /// Decodes a transaction from untrusted bytes (canonical, at most [`TX_BYTES_MAX`]).
    pub fn decode(bytes: &[u8]) -> Result<SignedTx, CodecError> {
        codec::decode(bytes, TX_BYTES_MAX)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

/// A member's role. Each call names the roles allowed to sign it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Governs membership and compliance.
    Admin,
    /// Mints cash and issues shares.
    Issuer,
    /// Runs stations and batteries, opens leases, deposits revenue.
    Operator,
    /// A station controller.
    Station,
    /// Holds and trades shares and cash.
    Investor,
    /// Reads everything; signs nothing that changes balances.
    Auditor,
}

/// An asset a balance is kept in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Asset {
    /// The settlement token of a currency (e.g. `HKD`), in its minor unit.
    Cash(Symbol),
    /// Shares of a share class.
    Shares(Symbol),
}

/// One side of a trade: what a party hands over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The asset.
    pub asset: Asset,
    /// How much.
    pub amount: Amount,
}

/// The terms of an atomic two-leg trade. Both parties authorise the same terms: one by signing
/// the transaction that carries them, the other by a [`Domain::TradeTerms`] signature inside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeTerms {
    /// Hands over `maker_gives`.
    pub maker: AccountId,
    /// Hands over `taker_gives`.
    pub taker: AccountId,
    /// Moves maker → taker.
    pub maker_gives: Leg,
    /// Moves taker → maker.
    pub taker_gives: Leg,
    /// Last height at which the trade may settle.
    pub expiry_height: Height,
    /// Distinguishes otherwise identical trades; each terms hash settles at most once.
    pub salt: u64,
}

impl TradeTerms {
    /// The trade id: blake3 of the canonical terms. A trade id settles at most once.
    pub fn id(&self) -> Hash {
        codec::hash(self)
    }

    /// The exact bytes each party signs.
    pub fn signing_message(&self, chain_id: &ChainId) -> Vec<u8> {
        sig::signing_message(Domain::TradeTerms, chain_id, &codec::encode(self))
    }
}

/// What a transaction does. Every call is atomic: all of its writes happen, or none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call {
    // ----- membership and compliance (admin) -----
    /// Registers `account` with `role`; its verified identity lapses at `identity_expiry`.
    RegisterMember {
        /// The new member's key.
        account: AccountId,
        /// Its role.
        role: Role,
        /// When its identity verification lapses (block time).
        identity_expiry: Timestamp,
    },
    /// Revokes a member: it can no longer sign or receive.
    RevokeMember {
        /// The member.
        account: AccountId,
        /// Why, for the record.
        reason: Text,
    },
    /// Freezes an account: it can neither send nor receive until unfrozen.
    Freeze {
        /// The account.
        account: AccountId,
        /// Why, for the record.
        reason: Text,
    },
    /// Lifts a freeze.
    Unfreeze {
        /// The account.
        account: AccountId,
    },
    /// Moves a lost wallet's membership and balances to a new key; the lost key is revoked. A
    /// revoked key may be recovered too (once).
    RecoverWallet {
        /// The key that was lost.
        lost: AccountId,
        /// The key that replaces it (must not be a member yet).
        new: AccountId,
        /// A new identity expiry for the replacement; `None` keeps the lost key's.
        identity_expiry: Option<Timestamp>,
        /// Why, for the record.
        reason: Text,
    },
    /// Sets a member's identity expiry (after a new verification).
    RenewIdentity {
        /// The member.
        account: AccountId,
        /// When its identity verification now lapses.
        identity_expiry: Timestamp,
    },
    /// Stops all movement of a share class (transfers, issues, redemptions, trades).
    PauseClass {
        /// The class.
        class: Symbol,
    },
    /// Lifts a pause.
    UnpauseClass {
        /// The class.
        class: Symbol,
    },

    // ----- cash -----
    /// Creates a currency's settlement token, minted and burned only by `issuer` (admin).
    RegisterCurrency {
        /// The ISO-style code, e.g. `HKD`.
        currency: Symbol,
        /// The only account that may mint and burn it (must have the issuer role).
        issuer: AccountId,
    },
    /// Mints new cash to a verified member (the currency's issuer only).
    Mint {
        /// The currency.
        currency: Symbol,
        /// The receiver.
        to: AccountId,
        /// How much.
        amount: Amount,
    },
    /// Burns cash from the issuer's own balance (the currency's issuer only).
    Burn {
        /// The currency.
        currency: Symbol,
        /// How much.
        amount: Amount,
    },
    /// Moves an asset from the signer to another verified member.
    Transfer {
        /// The asset.
        asset: Asset,
        /// The receiver.
        to: AccountId,
        /// How much.
        amount: Amount,
    },

    // ----- share classes -----
    /// Creates a share class with a fixed maximum supply (issuer).
    CreateClass {
        /// The class symbol.
        class: Symbol,
        /// A human name.
        name: Text,
        /// Shares that can ever be outstanding.
        supply_max: Amount,
    },
    /// Issues new shares of a class to a verified member (the class's issuer only).
    IssueShares {
        /// The class.
        class: Symbol,
        /// The receiver.
        to: AccountId,
        /// How many.
        amount: Amount,
    },
    /// Redeems (burns) shares the signer holds.
    RedeemShares {
        /// The class.
        class: Symbol,
        /// How many.
        amount: Amount,
    },

    // ----- trading -----
    /// Settles an atomic two-leg trade. The signer is one party; `counterparty_signature` is the
    /// other party's [`Domain::TradeTerms`] signature over the same terms.
    Trade {
        /// The agreed terms.
        terms: TradeTerms,
        /// The other party's signature over the terms.
        counterparty_signature: Signature,
    },
    /// Cancels signed trade terms before they settle (either party): they can never settle.
    CancelTrade {
        /// The terms to cancel.
        terms: TradeTerms,
    },

    // ----- batteries (operator or issuer) -----
    /// Registers a battery: serial unique, status `Original`, health 100 %, in a warehouse.
    RegisterBattery {
        /// The serial.
        serial: Serial,
        /// Its passport.
        passport: Passport,
        /// The warehouse it starts in.
        warehouse: Symbol,
    },
    /// Replaces the passport document reference (the static fields never change).
    UpdatePassportDocument {
        /// The battery.
        serial: Serial,
        /// blake3 of the new document.
        document_hash: Hash,
        /// Where it is published.
        document_uri: Text,
    },
    /// Moves the battery's lifecycle status forward. Remanufacturing may restore the state of
    /// health (`soh_permille`); otherwise it must be `None`.
    SetBatteryStatus {
        /// The battery.
        serial: Serial,
        /// The new status.
        status: BatteryStatus,
        /// The restored state of health, for `Remanufactured` only.
        soh_permille: Option<u16>,
    },
    /// Hands a battery's ownership to another operator or issuer (the owner only).
    TransferBattery {
        /// The battery.
        serial: Serial,
        /// The new owner.
        to: AccountId,
    },
    /// Lets `delegate` act for the signer on the signer's batteries (passport, status,
    /// logistics moves, class membership) and open leases of the signer's classes, or stops it.
    SetDelegate {
        /// The delegate.
        delegate: AccountId,
        /// True to allow, false to revoke.
        allowed: bool,
    },
    /// A logistics move by the battery's owner or its delegate (swaps move custody through
    /// attestations).
    MoveCustody {
        /// The battery.
        serial: Serial,
        /// The new custodian.
        to: Custody,
    },
    /// Creates a share class over one battery or a pool of batteries (a battery bank). Its
    /// holders receive the swap fees, energy payments and rent the batteries earn, in
    /// `revenue_currency`.
    CreateBatteryClass {
        /// The class symbol.
        class: Symbol,
        /// A human name.
        name: Text,
        /// Shares that can ever be issued.
        supply_max: Amount,
        /// The batteries (each in at most one class).
        batteries: Vec<Serial>,
        /// The currency revenue is paid in.
        revenue_currency: Symbol,
    },

    // ----- stations and vehicles (operator) -----
    /// Registers a station with its controller key; the signer becomes its operator.
    RegisterStation {
        /// The station id.
        station: Symbol,
        /// The controller's public key, which signs attestations.
        controller: AccountId,
        /// Where it is.
        location: Text,
        /// Number of battery slots.
        slots: u16,
        /// The operator's cut of each swap fee, in basis points (0..=10000).
        operator_cut_bps: u16,
    },
    /// Replaces the controller key; the old key stops verifying at once.
    RotateStationKey {
        /// The station.
        station: Symbol,
        /// The new controller key.
        controller: AccountId,
    },
    /// Decommissions a station: it can no longer attest.
    DecommissionStation {
        /// The station.
        station: Symbol,
    },
    /// Registers a vehicle whose swaps the signer (its fleet) pays: only a fleet can name
    /// itself as a vehicle's payer.
    RegisterVehicle {
        /// The vehicle id (e.g. a plate).
        vehicle: Symbol,
    },

    // ----- attestations (anyone may relay) -----
    /// Submits a station-signed attestation.
    SubmitAttestation {
        /// The attestation.
        attestation: Attestation,
        /// The station controller's [`crate::sig::Domain::Attestation`] signature.
        signature: Signature,
    },

    // ----- leases -----
    /// Opens a lease (signed by an operator, the lessor) with the lessee's signature over the
    /// terms; the deposit moves from the lessee into escrow.
    OpenLease {
        /// The terms.
        terms: LeaseTerms,
        /// The lessee's signature over the terms.
        lessee_signature: Signature,
    },
    /// Pays rent for a number of periods (any payer; usually the lessee).
    PayRent {
        /// The lease.
        lease: Hash,
        /// Periods paid.
        periods: u32,
    },
    /// Extends the term (the lessee, before the term ends, within the extension cap the terms
    /// set).
    ExtendLease {
        /// The lease.
        lease: Hash,
        /// Extra periods.
        periods: u32,
    },
    /// Closes a lease with rent paid up: by the lessee at any time, by the lessor after the
    /// term. The deposit returns to the lessee.
    CloseLease {
        /// The lease.
        lease: Hash,
    },
    /// Declares a default (lessor only) when rent is overdue beyond the grace period; the
    /// deposit goes to the class's holders.
    DefaultLease {
        /// The lease.
        lease: Hash,
    },
    /// Credits the class with the prepaid rent of every period started so far (anyone).
    SettleLease {
        /// The lease.
        lease: Hash,
    },
    /// Pays an ended lease's deposit, kept in escrow because the lessee could not receive it
    /// then, to the lessee (anyone may ask; the lessee must be able to receive now).
    ReleaseDeposit {
        /// The lease.
        lease: Hash,
    },

    // ----- revenue -----
    /// Deposits revenue from the signer's cash into a battery class, shared pro rata.
    DepositRevenue {
        /// The class.
        class: Symbol,
        /// How much, in the class's revenue currency.
        amount: Amount,
    },
    /// Pays the signer's accrued revenue of a class into its cash balance.
    ClaimRevenue {
        /// The class.
        class: Symbol,
    },
}

/// Why a transaction was rejected or failed: a stable, machine-readable code. New codes are only
/// ever appended, so stored receipts keep their meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The transaction signature does not verify.
    BadSignature,
    /// The transaction is for another chain.
    WrongChain,
    /// The nonce was already used.
    NonceReplayed,
    /// The nonce skips ahead of the next expected one.
    NonceSkipped,
    /// The block height is past the transaction's expiry.
    Expired,
    /// The signer is not a member, or was revoked.
    UnknownSigner,
    /// The signer's role may not make this call.
    WrongRole,
    /// The signer's identity verification has lapsed.
    IdentityExpired,
    /// The signer's account is frozen.
    SignerFrozen,
    /// The receiver is not a verified member.
    ReceiverNotVerified,
    /// The receiver's account is frozen.
    ReceiverFrozen,
    /// The share class is paused.
    ClassPaused,
    /// The balance is short of the amount.
    InsufficientBalance,
    /// Arithmetic would overflow.
    Overflow,
    /// Issuing would exceed the class's maximum supply.
    SupplyCapExceeded,
    /// The currency does not exist.
    UnknownCurrency,
    /// The share class does not exist.
    UnknownClass,
    /// The thing to create already exists.
    AlreadyExists,
    /// The account named is not a member.
    UnknownAccount,
    /// An amount of zero (nothing to do).
    ZeroAmount,
    /// The signer is not the currency's or class's issuer.
    NotIssuer,
    /// The signer is not a party to the trade.
    NotTradeParty,
    /// The counterparty's trade signature does not verify.
    BadCounterpartySignature,
    /// The trade already settled.
    TradeReplayed,
    /// The trade's expiry height has passed.
    TradeExpired,
    /// The key is not a valid ed25519 key, or is weak.
    BadKey,
    /// The state is already as asked (e.g. freezing a frozen account).
    NoChange,
    /// Sender and receiver are the same account.
    SelfTransfer,
    /// The battery serial is not registered.
    UnknownBattery,
    /// The station is not registered.
    UnknownStation,
    /// The vehicle is not registered.
    UnknownVehicle,
    /// The station is decommissioned.
    StationInactive,
    /// The attestation is not signed by the station's current controller key.
    BadAttestationSignature,
    /// The very same attestation is already recorded (nothing lost, nothing done again).
    DuplicateAttestation,
    /// A different attestation already holds this counter: recorded as evidence.
    AttestationConflict,
    /// The counter skips ahead; submit the missing attestations first.
    CounterGap,
    /// A battery is not where the record says it should be.
    WrongCustody,
    /// The battery is `Waste`.
    BatteryRetired,
    /// The battery has no active lease to the vehicle's fleet.
    BatteryNotLeased,
    /// The payer's balance is short of the fee.
    PayerShortOfFunds,
    /// The payer's account is frozen or unverified.
    PayerNotAllowed,
    /// The currency differs from the share class's revenue currency.
    CurrencyMismatch,
    /// The battery belongs to no share class, so nobody can be credited.
    NotInShareClass,
    /// The battery status cannot move that way.
    StatusBackwards,
    /// The battery already has an active lease.
    BatteryLeased,
    /// The battery already belongs to a share class.
    BatteryInClass,
    /// The lease does not exist.
    UnknownLease,
    /// The lease is closed or defaulted.
    LeaseNotActive,
    /// Only the lessee may do this.
    NotLessee,
    /// Only the lessor may do this.
    NotLessor,
    /// The lessee's signature over the lease terms does not verify.
    BadLesseeSignature,
    /// Paying more periods than the term has.
    RentBeyondTerm,
    /// Rent is still owed (closing refused).
    RentOutstanding,
    /// Rent is not overdue beyond the grace period (default refused).
    LeaseInGoodStanding,
    /// A reading or parameter is out of range.
    OutOfRange,
    /// Nothing has accrued to claim.
    NothingToClaim,
    /// The class has no revenue currency (not a battery class).
    NoRevenue,
    /// The signer is not the attested payer.
    NotPayer,
    /// The same battery is named twice.
    DuplicateBattery,
    /// Too many batteries in one class.
    TooManyBatteries,
    /// The station slot already holds a battery.
    SlotOccupied,
    /// The signer neither owns the battery (or class) nor acts as the owner's delegate.
    NotOwner,
    /// A record would exceed the largest value the state stores.
    RecordTooLarge,
    /// The account holds as many different assets as a member may.
    TooManyHoldings,
    /// The account has as many roles on records as a member may.
    TooManyDuties,
    /// The lessee's signed offer lapsed before the lease was opened.
    OfferExpired,
    /// The swap fee is above what the lease's tariff lets a swap charge.
    FeeAboveTariff,
    /// Extending would pass the extension cap the lease terms set.
    ExtensionCapExceeded,
    /// The term has not ended yet.
    TermNotOver,
    /// The trade terms were cancelled by a party.
    TradeCancelled,
    /// The account was already recovered to another key.
    AlreadyRecovered,
    /// There is nothing to release.
    NothingToRelease,
    /// The lease terms name another lessor.
    NotLessorOfTerms,
    /// The term has ended.
    TermOver,
    /// The battery's owner has not approved this station (its operator is neither the owner nor
    /// the owner's delegate).
    StationNotApproved,
}

/// What happened to one transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxOutcome {
    /// All of the call's writes took effect.
    Applied,
    /// Authenticated, so the nonce was used, but the call failed and none of its writes remain.
    Failed(ErrorCode),
    /// Not authenticated (signature, chain, nonce, expiry or signer): nothing changed at all.
    Rejected(ErrorCode),
    /// A station-signed attestation was recorded (its counter advanced and it is kept on the
    /// ledger) but it was disputed or conflicting for this reason, so it had no other effect.
    Disputed(ErrorCode),
}

/// A transaction's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction id.
    pub tx_id: Hash,
    /// What happened.
    pub outcome: TxOutcome,
}

impl Receipt {
    /// The error code, if the transaction did not apply.
    pub fn error(&self) -> Option<ErrorCode> {
        match self.outcome {
            TxOutcome::Applied => None,
            TxOutcome::Failed(code) | TxOutcome::Rejected(code) | TxOutcome::Disputed(code) => {
                Some(code)
            }
        }
    }
}
