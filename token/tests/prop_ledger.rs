//! Property tests of the whole ledger: random worlds fed random blocks of every part-1 call, from
//! right and wrong signers, with good and bad signatures, nonces and expiries.
//!
//! After every block: `invariants::check` passes; every account's `next_nonce` equals the number
//! of its transactions that were `Applied` or `Failed` (never `Rejected`); an independent model
//! (plain maps, written from the call table in `token/src/lib.rs`) predicted every receipt's
//! outcome and holds exactly the ledger's members, currencies, classes, balances, settled and
//! cancelled trades, and the per-account indexes (the `Holds` entry of every non-empty balance,
//! the `DutyOf` entry of every issuer role, and the counts in each member record); and a second
//! replica fed the same blocks (restarted from its store every third
//! block), and a third rebuilt from the first's store, have the same root.
//!
//! The generator builds each call explicitly (no match over `Call`), so new `Call` variants do
//! not break it; it peeks at the model only to pick plausible signers, holders, amounts and
//! nonces, so that successes and refusals both happen often.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use volt_proto::sig::Keypair;
use volt_proto::{
    AccountId, Amount, Asset, Call, ChainId, ErrorCode, Hash, Height, Leg, Nonce, Receipt, Role,
    Signature, SignedTx, Symbol, Text, Timestamp, TradeTerms, TxBody, TxOutcome, codec,
};
use volt_token::keys::{Currency, Duty, Holding, Key, Member, Meta, ShareClass};
use volt_token::testkit::{BLOCK_INTERVAL_MS, FAR_FUTURE, GENESIS_TIME, chain_id, key, sym};
use volt_token::{BlockContext, Genesis, GenesisMember, MemStore, State, invariants};

// ----- the cast: every key a test may sign with or name -----

const ADMIN: usize = 0;
const ADMIN2: usize = 1;
const ISSUER: usize = 2;
const ISSUER2: usize = 3;
const OPERATOR: usize = 4;
const FIXED: [(&str, Role); 7] = [
    ("admin", Role::Admin),
    ("admin2", Role::Admin),
    ("issuer", Role::Issuer),
    ("issuer2", Role::Issuer),
    ("operator", Role::Operator),
    ("auditor", Role::Auditor),
    ("station", Role::Station),
];
/// Keys that start outside the chain: targets of registration and recovery.
const FRESH: usize = 4;
const ROLES: [Role; 6] =
    [Role::Admin, Role::Issuer, Role::Operator, Role::Station, Role::Investor, Role::Auditor];

/// The identity point: a small-order ("weak") key that registration and recovery must refuse.
fn weak_key() -> AccountId {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    AccountId(bytes)
}

struct Cast {
    keys: Vec<Keypair>,
    accounts: Vec<AccountId>,
    by_account: BTreeMap<AccountId, usize>,
    investors: usize,
}

impl Cast {
    fn new(investors: usize) -> Cast {
        let mut names: Vec<String> = FIXED.iter().map(|(n, _)| n.to_string()).collect();
        names.extend((0..investors).map(|i| format!("inv{i}")));
        names.extend((0..FRESH).map(|i| format!("fresh{i}")));
        // Last: a key that is never registered (unknown signer, unknown receiver).
        names.push("stranger".into());
        let keys: Vec<Keypair> = names.iter().map(|n| key(n)).collect();
        let accounts: Vec<AccountId> = keys.iter().map(Keypair::account).collect();
        let by_account = accounts.iter().enumerate().map(|(i, a)| (*a, i)).collect();
        Cast { keys, accounts, by_account, investors }
    }

    fn len(&self) -> usize {
        self.accounts.len()
    }

    fn investor(&self, i: usize) -> usize {
        FIXED.len() + i
    }

    fn fresh(&self, pick: u8) -> usize {
        FIXED.len() + self.investors + usize::from(pick) % FRESH
    }

    fn stranger(&self) -> usize {
        self.len() - 1
    }

    fn any(&self, pick: u8) -> usize {
        usize::from(pick) % self.len()
    }

    fn index(&self, account: AccountId) -> Option<usize> {
        self.by_account.get(&account).copied()
    }
}

// ----- the model: plain maps, updated from the call table, independent of the ledger -----

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelMember {
    role: Role,
    expiry: Timestamp,
    frozen: bool,
    revoked: bool,
    nonce: u64,
    /// The key a recovery moved this member to (a key is recovered once).
    recovered_to: Option<AccountId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelClass {
    issuer: AccountId,
    cap: u128,
    issued: u128,
    redeemed: u128,
    paused: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelCurrency {
    issuer: AccountId,
    minted: u128,
    burned: u128,
}

#[derive(Clone, Debug, Default)]
struct Model {
    members: BTreeMap<AccountId, ModelMember>,
    currencies: BTreeMap<Symbol, ModelCurrency>,
    classes: BTreeMap<Symbol, ModelClass>,
    /// Non-zero balances only.
    balances: BTreeMap<(Asset, AccountId), u128>,
    settled: BTreeMap<Hash, Height>,
    cancelled: BTreeMap<Hash, Height>,
}

/// Who signed a trade's counterparty signature, and over which terms (`None`: garbage bytes).
type CounterpartySig = Option<(AccountId, Hash)>;

/// The outcome the model predicts: the exact code for a rejection, the class otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Applied,
    Failed,
    Rejected(ErrorCode),
    /// An outcome part-1 calls never have (e.g. an attestation's `Disputed`).
    Other,
}

impl Verdict {
    fn of(outcome: &TxOutcome) -> Verdict {
        match outcome {
            TxOutcome::Applied => Verdict::Applied,
            TxOutcome::Failed(_) => Verdict::Failed,
            TxOutcome::Rejected(code) => Verdict::Rejected(*code),
            _ => Verdict::Other,
        }
    }
}

fn holds_assets(role: Role) -> bool {
    matches!(role, Role::Investor | Role::Issuer | Role::Operator)
}

/// `Some(())` when `condition` holds, so preconditions read as `ok(...)?`.
fn ok(condition: bool) -> Option<()> {
    condition.then_some(())
}

impl Model {
    fn balance(&self, asset: &Asset, account: AccountId) -> u128 {
        self.balances.get(&(asset.clone(), account)).copied().unwrap_or(0)
    }

    fn debit(&mut self, asset: &Asset, account: AccountId, amount: u128) -> Option<()> {
        let left = self.balance(asset, account).checked_sub(amount)?;
        self.set_balance(asset, account, left);
        Some(())
    }

    fn credit(&mut self, asset: &Asset, account: AccountId, amount: u128) -> Option<()> {
        let total = self.balance(asset, account).checked_add(amount)?;
        self.set_balance(asset, account, total);
        Some(())
    }

    fn set_balance(&mut self, asset: &Asset, account: AccountId, amount: u128) {
        if amount == 0 {
            self.balances.remove(&(asset.clone(), account));
        } else {
            self.balances.insert((asset.clone(), account), amount);
        }
    }

    /// May `account` receive assets at `now`?
    fn receiver_ok(&self, account: AccountId, now: Timestamp) -> bool {
        self.members
            .get(&account)
            .is_some_and(|m| !m.revoked && m.expiry > now && holds_assets(m.role) && !m.frozen)
    }

    /// May `account` send assets at `now`?
    fn sender_ok(&self, account: AccountId, now: Timestamp) -> bool {
        self.receiver_ok(account, now)
    }

    /// The per-account index of balances: one entry per non-empty balance (no part-1 asset
    /// carries revenue, so a balance record is listed exactly when its amount is non-zero).
    fn listed(&self) -> BTreeSet<(AccountId, Asset)> {
        self.balances.keys().map(|(asset, account)| (*account, asset.clone())).collect()
    }

    /// The per-account index of roles: every currency and class names its issuer.
    fn duties(&self) -> BTreeSet<(AccountId, Duty)> {
        let currencies = (self.currencies.iter())
            .map(|(symbol, c)| (c.issuer, Duty::CurrencyIssuer(symbol.clone())));
        let classes =
            (self.classes.iter()).map(|(symbol, c)| (c.issuer, Duty::ClassIssuer(symbol.clone())));
        currencies.chain(classes).collect()
    }

    fn movable(&self, asset: &Asset) -> bool {
        match asset {
            Asset::Cash(currency) => self.currencies.contains_key(currency),
            Asset::Shares(class) => self.classes.get(class).is_some_and(|c| !c.paused),
        }
    }

    /// Authenticates and executes one transaction as the call table says; updates the model and
    /// returns what the ledger must report.
    fn step(&mut self, ctx: BlockContext, chain: &ChainId, planned: &Planned) -> Verdict {
        let body = &planned.tx.body;
        if &body.chain_id != chain {
            return Verdict::Rejected(ErrorCode::WrongChain);
        }
        if !planned.signature_ok {
            return Verdict::Rejected(ErrorCode::BadSignature);
        }
        if ctx.height > body.expiry_height {
            return Verdict::Rejected(ErrorCode::Expired);
        }
        let Some(member) = self.members.get(&body.signer).filter(|m| !m.revoked) else {
            return Verdict::Rejected(ErrorCode::UnknownSigner);
        };
        if body.nonce.0 < member.nonce {
            return Verdict::Rejected(ErrorCode::NonceReplayed);
        }
        if body.nonce.0 > member.nonce {
            return Verdict::Rejected(ErrorCode::NonceSkipped);
        }
        let verdict = match self.execute(ctx, body.signer, &planned.spec, planned.counterparty) {
            Some(next) => {
                *self = next;
                Verdict::Applied
            }
            None => Verdict::Failed,
        };
        // The nonce is used either way (a recovered signer keeps its revoked record).
        if let Some(member) = self.members.get_mut(&body.signer) {
            member.nonce += 1;
        }
        verdict
    }

    /// The model after `spec`, or `None` if any precondition fails.
    fn execute(
        &self,
        ctx: BlockContext,
        signer: AccountId,
        spec: &Spec,
        counterparty: CounterpartySig,
    ) -> Option<Model> {
        let now = ctx.time;
        let mut m = self.clone();
        let me = m.members.get(&signer)?.clone();
        let admin = me.role == Role::Admin;
        // Auditors sign nothing; admins govern even with a lapsed identity.
        ok(me.role != Role::Auditor && !me.frozen && (me.expiry > now || admin))?;
        match spec {
            Spec::Register { account, role, expiry } => {
                ok(admin && *account != weak_key() && !m.members.contains_key(account))?;
                let member = ModelMember {
                    role: *role,
                    expiry: *expiry,
                    frozen: false,
                    revoked: false,
                    nonce: 0,
                    recovered_to: None,
                };
                m.members.insert(*account, member);
            }
            Spec::Revoke { account } => {
                ok(admin)?;
                let target = m.members.get_mut(account)?;
                ok(!target.revoked)?;
                target.revoked = true;
            }
            Spec::SetFrozen { account, frozen } => {
                ok(admin)?;
                let target = m.members.get_mut(account)?;
                ok(target.frozen != *frozen)?;
                target.frozen = *frozen;
            }
            Spec::Recover { lost, new, expiry } => {
                ok(admin && *new != weak_key() && !m.members.contains_key(new))?;
                let old = m.members.get_mut(lost)?;
                // A revoked key may be recovered too (it still owns its assets), but only once.
                ok(old.recovered_to.is_none())?;
                old.revoked = true;
                old.recovered_to = Some(*new);
                let replacement = ModelMember {
                    revoked: false,
                    nonce: 0,
                    recovered_to: None,
                    expiry: expiry.unwrap_or(old.expiry),
                    ..old.clone()
                };
                m.members.insert(*new, replacement);
                let moved: Vec<_> = m
                    .balances
                    .iter()
                    .filter(|((_, a), _)| a == lost)
                    .map(|((asset, _), amount)| (asset.clone(), *amount))
                    .collect();
                for (asset, amount) in moved {
                    m.set_balance(&asset, *lost, 0);
                    m.set_balance(&asset, *new, amount);
                }
                // The new key inherits the lost key's issuer roles.
                for record in m.currencies.values_mut().filter(|c| c.issuer == *lost) {
                    record.issuer = *new;
                }
                for record in m.classes.values_mut().filter(|c| c.issuer == *lost) {
                    record.issuer = *new;
                }
            }
            Spec::Renew { account, expiry } => {
                ok(admin)?;
                let target = m.members.get_mut(account)?;
                ok(!target.revoked && target.expiry != *expiry)?;
                target.expiry = *expiry;
            }
            Spec::SetPaused { class, paused } => {
                // Governance alone: a pause stops holders moving what they hold.
                ok(admin)?;
                let record = m.classes.get_mut(class)?;
                ok(record.paused != *paused)?;
                record.paused = *paused;
            }
            Spec::RegisterCurrency { currency, issuer } => {
                ok(admin && !m.currencies.contains_key(currency))?;
                let named = m.members.get(issuer)?;
                ok(!named.revoked && named.role == Role::Issuer)?;
                let record = ModelCurrency { issuer: *issuer, minted: 0, burned: 0 };
                m.currencies.insert(currency.clone(), record);
            }
            Spec::Mint { currency, to, amount } => {
                ok(me.role == Role::Issuer && *amount > 0 && m.receiver_ok(*to, now))?;
                let record = m.currencies.get_mut(currency)?;
                ok(record.issuer == signer)?;
                record.minted = record.minted.checked_add(*amount)?;
                m.credit(&Asset::Cash(currency.clone()), *to, *amount)?;
            }
            Spec::Burn { currency, amount } => {
                ok(me.role == Role::Issuer && *amount > 0)?;
                let record = m.currencies.get_mut(currency)?;
                ok(record.issuer == signer)?;
                record.burned = record.burned.checked_add(*amount)?;
                m.debit(&Asset::Cash(currency.clone()), signer, *amount)?;
            }
            Spec::Transfer { asset, to, amount } => {
                ok(m.sender_ok(signer, now) && *amount > 0 && *to != signer)?;
                ok(m.movable(asset) && m.receiver_ok(*to, now))?;
                m.debit(asset, signer, *amount)?;
                m.credit(asset, *to, *amount)?;
            }
            Spec::CreateClass { class, supply_max } => {
                ok(me.role == Role::Issuer && *supply_max > 0)?;
                ok(!m.classes.contains_key(class))?;
                let record = ModelClass {
                    issuer: signer,
                    cap: *supply_max,
                    issued: 0,
                    redeemed: 0,
                    paused: false,
                };
                m.classes.insert(class.clone(), record);
            }
            Spec::Issue { class, to, amount } => {
                ok(me.role == Role::Issuer && *amount > 0 && m.receiver_ok(*to, now))?;
                let record = m.classes.get_mut(class)?;
                ok(record.issuer == signer && !record.paused)?;
                let issued = record.issued.checked_add(*amount)?;
                // The cap bounds the shares outstanding: redeemed shares may be issued again.
                let outstanding = (record.issued - record.redeemed).checked_add(*amount)?;
                ok(outstanding <= record.cap)?;
                record.issued = issued;
                m.credit(&Asset::Shares(class.clone()), *to, *amount)?;
            }
            Spec::Redeem { class, amount } => {
                let asset = Asset::Shares(class.clone());
                ok(m.sender_ok(signer, now) && *amount > 0 && m.movable(&asset))?;
                m.debit(&asset, signer, *amount)?;
                let record = m.classes.get_mut(class)?;
                record.redeemed = record.redeemed.checked_add(*amount)?;
            }
            Spec::Trade(terms) => {
                let other = if signer == terms.maker {
                    terms.taker
                } else if signer == terms.taker {
                    terms.maker
                } else {
                    return None;
                };
                let id = terms.id();
                ok(terms.maker != terms.taker && ctx.height <= terms.expiry_height)?;
                ok(!m.settled.contains_key(&id) && !m.cancelled.contains_key(&id))?;
                ok(counterparty == Some((other, id)))?;
                ok(!terms.maker_gives.amount.is_zero() && !terms.taker_gives.amount.is_zero())?;
                for party in [terms.maker, terms.taker] {
                    ok(m.sender_ok(party, now) && m.receiver_ok(party, now))?;
                }
                ok(m.movable(&terms.maker_gives.asset) && m.movable(&terms.taker_gives.asset))?;
                let (a, b) = (&terms.maker_gives, &terms.taker_gives);
                m.debit(&a.asset, terms.maker, a.amount.0)?;
                m.credit(&a.asset, terms.taker, a.amount.0)?;
                m.debit(&b.asset, terms.taker, b.amount.0)?;
                m.credit(&b.asset, terms.maker, b.amount.0)?;
                m.settled.insert(id, ctx.height);
            }
            Spec::CancelTrade(terms) => {
                ok(signer == terms.maker || signer == terms.taker)?;
                let id = terms.id();
                ok(!m.settled.contains_key(&id) && !m.cancelled.contains_key(&id))?;
                m.cancelled.insert(id, ctx.height);
            }
        }
        Some(m)
    }
}

/// What a generated call means, for the model. Built beside the `Call` (never matched from it).
#[derive(Clone, Debug)]
enum Spec {
    Register { account: AccountId, role: Role, expiry: Timestamp },
    Revoke { account: AccountId },
    SetFrozen { account: AccountId, frozen: bool },
    Recover { lost: AccountId, new: AccountId, expiry: Option<Timestamp> },
    Renew { account: AccountId, expiry: Timestamp },
    SetPaused { class: Symbol, paused: bool },
    RegisterCurrency { currency: Symbol, issuer: AccountId },
    Mint { currency: Symbol, to: AccountId, amount: u128 },
    Burn { currency: Symbol, amount: u128 },
    Transfer { asset: Asset, to: AccountId, amount: u128 },
    CreateClass { class: Symbol, supply_max: u128 },
    Issue { class: Symbol, to: AccountId, amount: u128 },
    Redeem { class: Symbol, amount: u128 },
    Trade(TradeTerms),
    CancelTrade(TradeTerms),
}

impl Spec {
    /// The ledger call this spec stands for.
    fn call(&self, counterparty_signature: Signature) -> Call {
        let reason = text("property test");
        match self.clone() {
            Spec::Register { account, role, expiry } => {
                Call::RegisterMember { account, role, identity_expiry: expiry }
            }
            Spec::Revoke { account } => Call::RevokeMember { account, reason },
            Spec::SetFrozen { account, frozen: true } => Call::Freeze { account, reason },
            Spec::SetFrozen { account, frozen: false } => Call::Unfreeze { account },
            Spec::Recover { lost, new, expiry } => {
                Call::RecoverWallet { lost, new, identity_expiry: expiry, reason }
            }
            Spec::Renew { account, expiry } => {
                Call::RenewIdentity { account, identity_expiry: expiry }
            }
            Spec::SetPaused { class, paused: true } => Call::PauseClass { class },
            Spec::SetPaused { class, paused: false } => Call::UnpauseClass { class },
            Spec::RegisterCurrency { currency, issuer } => {
                Call::RegisterCurrency { currency, issuer }
            }
            Spec::Mint { currency, to, amount } => {
                Call::Mint { currency, to, amount: Amount(amount) }
            }
            Spec::Burn { currency, amount } => Call::Burn { currency, amount: Amount(amount) },
            Spec::Transfer { asset, to, amount } => {
                Call::Transfer { asset, to, amount: Amount(amount) }
            }
            Spec::CreateClass { class, supply_max } => Call::CreateClass {
                name: text(class.as_str()),
                class,
                supply_max: Amount(supply_max),
            },
            Spec::Issue { class, to, amount } => {
                Call::IssueShares { class, to, amount: Amount(amount) }
            }
            Spec::Redeem { class, amount } => Call::RedeemShares { class, amount: Amount(amount) },
            Spec::Trade(terms) => Call::Trade { terms, counterparty_signature },
            Spec::CancelTrade(terms) => Call::CancelTrade { terms },
        }
    }
}

fn text(s: &str) -> Text {
    match Text::new(s) {
        Ok(text) => text,
        Err(error) => panic!("bad test text {s:?}: {error}"),
    }
}

// ----- generation -----

/// The call families generated, for the statistics (and to prove each one applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Register,
    Revoke,
    Freeze,
    Unfreeze,
    Recover,
    Renew,
    Pause,
    Unpause,
    RegisterCurrency,
    Mint,
    Burn,
    TransferCash,
    TransferShares,
    CreateClass,
    Issue,
    Redeem,
    Trade,
    CancelTrade,
}

impl Kind {
    /// Weighted so value moves often and governance happens now and then (`roll` < 100).
    fn from_roll(roll: u8) -> Kind {
        const TABLE: [(u8, Kind); 18] = [
            (3, Kind::Register),
            (5, Kind::Revoke),
            (9, Kind::Freeze),
            (13, Kind::Unfreeze),
            (16, Kind::Recover),
            (18, Kind::Renew),
            (21, Kind::Pause),
            (24, Kind::Unpause),
            (26, Kind::RegisterCurrency),
            (34, Kind::Mint),
            (38, Kind::Burn),
            (52, Kind::TransferCash),
            (60, Kind::TransferShares),
            (62, Kind::CreateClass),
            (69, Kind::Issue),
            (74, Kind::Redeem),
            (96, Kind::Trade),
            (100, Kind::CancelTrade),
        ];
        TABLE.iter().find(|(limit, _)| roll < *limit).map_or(Kind::Trade, |(_, kind)| *kind)
    }
}

/// How a transaction is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    Good,
    BadSignature,
    ReplayedNonce,
    SkippedNonce,
    Expired,
    WrongChain,
    UnknownSigner,
}

impl Auth {
    fn from_roll(roll: u8) -> Auth {
        match roll {
            0..80 => Auth::Good,
            80..84 => Auth::BadSignature,
            84..88 => Auth::ReplayedNonce,
            88..92 => Auth::SkippedNonce,
            92..95 => Auth::Expired,
            95..97 => Auth::WrongChain,
            _ => Auth::UnknownSigner,
        }
    }
}

/// The random choices behind one transaction; turned into a transaction against the current
/// model, so nonces, holders and amounts are plausible.
#[derive(Clone, Debug)]
struct OpSeed {
    kind: u8,
    /// Signed by the account that would normally make the call (else by any key).
    natural: bool,
    picks: [u8; 4],
    amount: u128,
    auth: u8,
    extra: u8,
    salt: u64,
}

/// The random shape of a world.
#[derive(Clone, Debug)]
struct WorldSeed {
    investors: usize,
    classes: usize,
    thb_by_issuer2: bool,
    cash: Vec<u128>,
    shares: Vec<u128>,
    /// An investor whose identity lapses at the time of this block height.
    lapsing: Option<(usize, u64)>,
}

fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![
        3 => Just(0u128),
        60 => 1u128..=60,
        30 => 61u128..=3_000,
        3 => Just(u128::MAX),
        4 => any::<u128>(),
    ]
}

fn op_seed() -> impl Strategy<Value = OpSeed> {
    (
        0u8..100,
        prop::bool::weighted(0.85),
        any::<[u8; 4]>(),
        amount(),
        0u8..100,
        0u8..100,
        any::<u64>(),
    )
        .prop_map(|(kind, natural, picks, amount, auth, extra, salt)| OpSeed {
            kind,
            natural,
            picks,
            amount,
            auth,
            extra,
            salt,
        })
}

fn world_seed() -> impl Strategy<Value = WorldSeed> {
    (
        2usize..=4,
        1usize..=2,
        any::<bool>(),
        prop::collection::vec(0u128..5_000, 4),
        prop::collection::vec(0u128..500, 4),
        prop::option::weighted(0.3, (0usize..4, 3u64..15)),
    )
        .prop_map(|(investors, classes, thb_by_issuer2, cash, shares, lapsing)| WorldSeed {
            investors,
            classes,
            thb_by_issuer2,
            cash,
            shares,
            lapsing,
        })
}

/// Up to 18 random blocks (after 2 setup blocks: ≤ 20 in all) of up to 16 transactions.
fn blocks() -> impl Strategy<Value = Vec<Vec<OpSeed>>> {
    prop::collection::vec(prop::collection::vec(op_seed(), 0..=16), 1..=18)
}

/// A transaction with what the model needs to know about it.
struct Planned {
    tx: SignedTx,
    kind: Kind,
    spec: Spec,
    signature_ok: bool,
    counterparty: CounterpartySig,
    verdict: Verdict,
}

/// One applied block, for replay.
#[derive(Clone)]
struct BlockTrace {
    ctx: BlockContext,
    txs: Vec<SignedTx>,
    receipts: Vec<Receipt>,
    root: Hash,
}

#[derive(Default)]
struct Stats {
    by_kind: BTreeMap<Kind, [usize; 3]>,
    codes: BTreeMap<String, usize>,
    blocks: usize,
}

impl Stats {
    fn record(&mut self, kind: Kind, outcome: &TxOutcome) {
        let slot = match outcome {
            TxOutcome::Applied => 0,
            TxOutcome::Failed(code) => {
                *self.codes.entry(format!("Failed({code:?})")).or_default() += 1;
                1
            }
            TxOutcome::Rejected(code) => {
                *self.codes.entry(format!("Rejected({code:?})")).or_default() += 1;
                2
            }
            // Never produced by part-1 calls; the model check reports it.
            _ => 1,
        };
        self.by_kind.entry(kind).or_default()[slot] += 1;
    }

    fn totals(&self) -> [usize; 3] {
        let mut totals = [0; 3];
        for counts in self.by_kind.values() {
            for (total, count) in totals.iter_mut().zip(counts) {
                *total += count;
            }
        }
        totals
    }
}

const CLASSES: [&str; 3] = ["POOL-A", "POOL-B", "POOL-C"];
const CURRENCIES: [&str; 3] = ["HKD", "THB", "EUR"];

/// Two replicas, the model, and the test's own bookkeeping.
struct Harness {
    cast: Cast,
    genesis: Genesis,
    chain: ChainId,
    model: Model,
    replicas: [State<MemStore>; 2],
    ctx: BlockContext,
    /// Applied or Failed transactions per signer, counted from receipts only.
    used_nonces: BTreeMap<AccountId, u64>,
    /// Trades built so far, to replay (terms, signature, who signed it, natural signer).
    trades: Vec<(TradeTerms, Signature, CounterpartySig, usize)>,
    trace: Vec<BlockTrace>,
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if condition { Ok(()) } else { Err(TestCaseError::fail(message())) }
}

impl Harness {
    fn new(seed: &WorldSeed) -> Harness {
        let cast = Cast::new(seed.investors);
        let mut members: Vec<GenesisMember> = FIXED
            .iter()
            .enumerate()
            .map(|(i, (_, role))| GenesisMember {
                account: cast.accounts[i],
                role: *role,
                identity_expiry: FAR_FUTURE,
            })
            .collect();
        for i in 0..seed.investors {
            let lapses = seed
                .lapsing
                .filter(|(who, _)| who % seed.investors == i)
                .map(|(_, height)| Timestamp(GENESIS_TIME.0 + height * BLOCK_INTERVAL_MS));
            members.push(GenesisMember {
                account: cast.accounts[cast.investor(i)],
                role: Role::Investor,
                identity_expiry: lapses.unwrap_or(FAR_FUTURE),
            });
        }
        let genesis = Genesis {
            chain_id: chain_id(),
            time: GENESIS_TIME,
            members,
            currencies: vec![(sym("HKD"), cast.accounts[ISSUER])],
        };
        let mut model = Model::default();
        for m in &genesis.members {
            let member = ModelMember {
                role: m.role,
                expiry: m.identity_expiry,
                frozen: false,
                revoked: false,
                nonce: 0,
                recovered_to: None,
            };
            model.members.insert(m.account, member);
        }
        let hkd = ModelCurrency { issuer: cast.accounts[ISSUER], minted: 0, burned: 0 };
        model.currencies.insert(sym("HKD"), hkd);
        let replica = || match State::genesis(MemStore::new(), &genesis) {
            Ok(state) => state,
            Err(error) => panic!("genesis refused: {error}"),
        };
        Harness {
            replicas: [replica(), replica()],
            chain: genesis.chain_id.clone(),
            genesis,
            cast,
            model,
            ctx: BlockContext {
                height: Height(1),
                time: Timestamp(GENESIS_TIME.0 + BLOCK_INTERVAL_MS),
            },
            used_nonces: BTreeMap::new(),
            trades: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// THB and the share classes (block 1), then initial balances (block 2).
    fn setup(&mut self, seed: &WorldSeed, stats: &mut Stats) -> Result<(), TestCaseError> {
        let thb_issuer = if seed.thb_by_issuer2 { ISSUER2 } else { ISSUER };
        let mut first = vec![self.plan_good(
            ADMIN,
            Kind::RegisterCurrency,
            Spec::RegisterCurrency { currency: sym("THB"), issuer: self.cast.accounts[thb_issuer] },
        )];
        for (i, class) in CLASSES.iter().take(seed.classes).enumerate() {
            let spec = Spec::CreateClass { class: sym(class), supply_max: 100_000 };
            first.push(self.plan_good([ISSUER, ISSUER2][i], Kind::CreateClass, spec));
        }
        self.apply(first, stats)?;
        let mut second = Vec::new();
        for i in 0..seed.investors {
            let to = self.cast.accounts[self.cast.investor(i)];
            let (cash, shares) = (seed.cash[i], seed.shares[i]);
            let mint = |currency: &str, amount| Spec::Mint { currency: sym(currency), to, amount };
            second.push(self.plan_good(ISSUER, Kind::Mint, mint("HKD", cash)));
            second.push(self.plan_good(thb_issuer, Kind::Mint, mint("THB", cash / 2)));
            for (c, class) in CLASSES.iter().take(seed.classes).enumerate() {
                let spec = Spec::Issue { class: sym(class), to, amount: shares + c as u128 };
                second.push(self.plan_good([ISSUER, ISSUER2][c], Kind::Issue, spec));
            }
        }
        let to = self.cast.accounts[OPERATOR];
        let spec = Spec::Mint { currency: sym("HKD"), to, amount: 2_000 };
        second.push(self.plan_good(ISSUER, Kind::Mint, spec));
        self.apply(second, stats)
    }

    fn plan_good(&mut self, signer: usize, kind: Kind, spec: Spec) -> Planned {
        self.plan(signer, kind, spec, Auth::Good, 0, None)
    }

    /// Signs `spec` as `signer` with the nonce, expiry, chain and signature `auth` asks for,
    /// then runs it through the model (which also gives the next transaction's nonce).
    fn plan(
        &mut self,
        signer: usize,
        kind: Kind,
        spec: Spec,
        auth: Auth,
        salt: u64,
        counterparty: Option<(Signature, CounterpartySig)>,
    ) -> Planned {
        let signer = match auth {
            Auth::UnknownSigner => self.cast.stranger(),
            _ => signer,
        };
        // Half the unknown signers name a weak key, which no signature can verify for.
        let weak_signer = auth == Auth::UnknownSigner && salt % 2 == 1;
        let account = if weak_signer { weak_key() } else { self.cast.accounts[signer] };
        let next = self.model.members.get(&account).map_or(0, |m| m.nonce);
        let nonce = match auth {
            Auth::ReplayedNonce if next > 0 => next - 1 - salt % next.min(3),
            Auth::ReplayedNonce | Auth::SkippedNonce => next + 1 + salt % 3,
            _ => next,
        };
        let height = self.ctx.height.0;
        let expiry_height = match auth {
            Auth::Expired => height - 1 - salt % height.min(2),
            // Sometimes exactly this height: the last one at which it is valid.
            _ => height + salt % 4,
        };
        let chain_id = match auth {
            Auth::WrongChain => ChainId::new("volt-other").unwrap_or_else(|_| chain_id()),
            _ => self.chain.clone(),
        };
        let (cp_signature, cp_signed) = counterparty.unwrap_or((Signature([0; 64]), None));
        let body = TxBody {
            chain_id,
            signer: account,
            nonce: Nonce(nonce),
            expiry_height: Height(expiry_height),
            call: spec.call(cp_signature),
        };
        let mut tx = body.sign(&self.cast.keys[signer]);
        if auth == Auth::BadSignature {
            if salt.is_multiple_of(2) {
                let byte = (salt >> 8) as usize % 64;
                tx.signature.0[byte] ^= 1 << ((salt >> 16) % 8);
            } else {
                let other = (signer + 1) % self.cast.len();
                tx = tx.body.sign(&self.cast.keys[other]);
            }
        }
        let mut planned = Planned {
            tx,
            kind,
            spec,
            signature_ok: auth != Auth::BadSignature && !weak_signer,
            counterparty: cp_signed,
            verdict: Verdict::Failed,
        };
        planned.verdict = self.model.step(self.ctx, &self.chain, &planned);
        planned
    }

    // ----- plausible picks from the model -----

    /// Members that may hold assets, in key order.
    fn holders(&self) -> Vec<AccountId> {
        self.model
            .members
            .iter()
            .filter(|(_, m)| !m.revoked && holds_assets(m.role))
            .map(|(a, _)| *a)
            .collect()
    }

    /// Usually a member that may hold assets; now and then anyone (admins, unknown keys).
    fn receiver(&self, pick: u8, roll: u8) -> AccountId {
        let holders = self.holders();
        if roll.is_multiple_of(5) || holders.is_empty() {
            return self.cast.accounts[self.cast.any(pick)];
        }
        holders[usize::from(pick) % holders.len()]
    }

    /// An account holding some `asset`, else a receiver.
    fn holder_of(&self, asset: &Asset, pick: u8) -> AccountId {
        let with: Vec<AccountId> = self
            .model
            .balances
            .keys()
            .filter(|(a, _)| a == asset)
            .map(|(_, account)| *account)
            .collect();
        if with.is_empty() {
            return self.receiver(pick, 1);
        }
        with[usize::from(pick) % with.len()]
    }

    /// An asset `account` holds, else any known asset.
    fn asset_of(&self, account: AccountId, pick: u8) -> Asset {
        let held: Vec<Asset> = self
            .model
            .balances
            .keys()
            .filter(|(_, a)| *a == account)
            .map(|(asset, _)| asset.clone())
            .collect();
        if held.is_empty() {
            return self.any_asset(pick);
        }
        held[usize::from(pick) % held.len()].clone()
    }

    fn any_asset(&self, pick: u8) -> Asset {
        if pick.is_multiple_of(2) {
            Asset::Cash(sym(CURRENCIES[usize::from(pick / 2) % 3]))
        } else {
            Asset::Shares(sym(CLASSES[usize::from(pick / 2) % 3]))
        }
    }

    /// Mostly an amount the holder can afford; a quarter of the time whatever was drawn.
    fn fit(amount: u128, balance: u128, roll: u8) -> u128 {
        if balance > 0 && amount > balance && !roll.is_multiple_of(4) {
            1 + amount % balance
        } else {
            amount
        }
    }

    fn index_or(&self, account: AccountId, fallback: usize) -> usize {
        self.cast.index(account).unwrap_or(fallback)
    }

    fn currency_issuer(&self, currency: &Symbol) -> usize {
        self.model.currencies.get(currency).map_or(ISSUER, |c| self.index_or(c.issuer, ISSUER))
    }

    fn class_issuer(&self, class: &Symbol) -> usize {
        self.model.classes.get(class).map_or(ISSUER, |c| self.index_or(c.issuer, ISSUER))
    }

    /// Mostly a class that exists.
    fn class(&self, pick: u8, roll: u8) -> Symbol {
        let known: Vec<&Symbol> = self.model.classes.keys().collect();
        if roll.is_multiple_of(8) || known.is_empty() {
            return sym(CLASSES[usize::from(pick) % 3]);
        }
        known[usize::from(pick) % known.len()].clone()
    }

    fn currency(&self, pick: u8, roll: u8) -> Symbol {
        let index = if roll.is_multiple_of(10) { 2 } else { usize::from(pick) % 2 };
        sym(CURRENCIES[index])
    }

    /// Builds the transaction `op` describes against the current model.
    fn build(&mut self, op: &OpSeed) -> Planned {
        let kind = Kind::from_roll(op.kind);
        let [p0, p1, p2, p3] = op.picks;
        let (x, amount) = (op.extra, op.amount);
        let admin = if p3.is_multiple_of(2) { ADMIN } else { ADMIN2 };
        let mut counterparty = None;
        let (natural, spec) = match kind {
            Kind::Register => {
                let account = if x < 15 {
                    weak_key()
                } else if x < 65 {
                    self.cast.accounts[self.cast.fresh(p0)]
                } else {
                    self.cast.accounts[self.cast.any(p0)]
                };
                let deltas = [-1_000i64, 0, 1_000, 3_000, 10_000];
                let expiry = if x % 10 < 7 {
                    FAR_FUTURE
                } else {
                    let delta = deltas[usize::from(p2) % deltas.len()];
                    Timestamp(self.ctx.time.0.saturating_add_signed(delta))
                };
                let role = ROLES[usize::from(p1) % ROLES.len()];
                (admin, Spec::Register { account, role, expiry })
            }
            Kind::Revoke => {
                let account = self.cast.accounts[self.cast.any(p0)];
                (admin, Spec::Revoke { account })
            }
            Kind::Freeze => {
                let account = self.receiver(p0, x);
                let frozen = true;
                (admin, Spec::SetFrozen { account, frozen })
            }
            Kind::Unfreeze => {
                let frozen: Vec<AccountId> = (self.model.members.iter())
                    .filter(|(_, m)| m.frozen)
                    .map(|(a, _)| *a)
                    .collect();
                let account = if x < 80 && !frozen.is_empty() {
                    frozen[usize::from(p0) % frozen.len()]
                } else {
                    self.cast.accounts[self.cast.any(p0)]
                };
                (admin, Spec::SetFrozen { account, frozen: false })
            }
            Kind::Recover => {
                // Now and then a revoked key (recoverable once) or one already recovered (not
                // again), else mostly a holder.
                let revoked: Vec<AccountId> = (self.model.members.iter())
                    .filter(|(_, m)| m.revoked && (x % 4 == 1 || m.recovered_to.is_some()))
                    .map(|(a, _)| *a)
                    .collect();
                let lost = if x % 4 <= 1 && !revoked.is_empty() {
                    revoked[usize::from(p0) % revoked.len()]
                } else {
                    self.receiver(p0, x)
                };
                let new =
                    if x % 10 == 0 { weak_key() } else { self.cast.accounts[self.cast.fresh(p1)] };
                let expiry = match p2 % 3 {
                    0 => None,
                    1 => Some(FAR_FUTURE),
                    // Lapses a few blocks from now.
                    _ => Some(Timestamp(self.ctx.time.0 + 3_000)),
                };
                (admin, Spec::Recover { lost, new, expiry })
            }
            Kind::Renew => {
                let account = self.cast.accounts[self.cast.any(p0)];
                let deltas = [-1_000i64, 0, 2_000, 10_000];
                let expiry = if x % 3 == 0 {
                    FAR_FUTURE
                } else {
                    let delta = deltas[usize::from(p1) % deltas.len()];
                    Timestamp(self.ctx.time.0.saturating_add_signed(delta))
                };
                (admin, Spec::Renew { account, expiry })
            }
            Kind::Pause | Kind::Unpause => {
                let class = self.class(p0, x);
                // Mostly an admin; now and then the class's issuer, which may not pause.
                let natural = if x < 20 { self.class_issuer(&class) } else { admin };
                let paused = kind == Kind::Pause;
                (natural, Spec::SetPaused { class, paused })
            }
            Kind::RegisterCurrency => {
                let currency = sym(CURRENCIES[usize::from(p0) % 3]);
                let issuer = match p2 % 3 {
                    0 => self.cast.accounts[ISSUER],
                    1 => self.cast.accounts[ISSUER2],
                    _ => self.cast.accounts[self.cast.any(p1)],
                };
                (admin, Spec::RegisterCurrency { currency, issuer })
            }
            Kind::Mint => {
                let currency = self.currency(p0, x);
                let to = self.receiver(p1, x);
                let natural = self.currency_issuer(&currency);
                (natural, Spec::Mint { currency, to, amount })
            }
            Kind::Burn => {
                let currency = self.currency(p0, x);
                let natural = self.currency_issuer(&currency);
                let asset = Asset::Cash(currency.clone());
                let held = self.model.balance(&asset, self.cast.accounts[natural]);
                let amount = Self::fit(amount, held, x);
                (natural, Spec::Burn { currency, amount })
            }
            Kind::TransferCash | Kind::TransferShares => {
                let asset = if kind == Kind::TransferCash {
                    Asset::Cash(self.currency(p0, x))
                } else {
                    Asset::Shares(self.class(p0, x))
                };
                let from = self.holder_of(&asset, p1);
                let to = self.receiver(p2, x);
                let amount = Self::fit(amount, self.model.balance(&asset, from), x);
                (self.index_or(from, ADMIN), Spec::Transfer { asset, to, amount })
            }
            Kind::CreateClass => {
                let class = sym(CLASSES[usize::from(p0) % 3]);
                let natural = if p1.is_multiple_of(2) { ISSUER } else { ISSUER2 };
                (natural, Spec::CreateClass { class, supply_max: amount })
            }
            Kind::Issue => {
                let class = self.class(p0, x);
                let room = (self.model.classes.get(&class))
                    .map_or(0, |c| c.cap.saturating_sub(c.issued - c.redeemed));
                let to = self.receiver(p1, x);
                let amount = Self::fit(amount, room, x);
                (self.class_issuer(&class), Spec::Issue { class, to, amount })
            }
            Kind::Redeem => {
                let class = self.class(p0, x);
                let from = self.holder_of(&Asset::Shares(class.clone()), p1);
                let held = self.model.balance(&Asset::Shares(class.clone()), from);
                let amount = Self::fit(amount, held, x);
                (self.index_or(from, ADMIN), Spec::Redeem { class, amount })
            }
            Kind::Trade => {
                let (natural, terms, signature, signed) = self.trade(op);
                counterparty = Some((signature, signed));
                (natural, Spec::Trade(terms))
            }
            Kind::CancelTrade => {
                // Mostly terms built earlier (settled, pending or cancelled), cancelled by one
                // of their parties; else fresh terms.
                let (terms, natural) = if x < 85 && !self.trades.is_empty() {
                    let (terms, _, _, _) = self.trades[self.pick_trade(p0, p2)].clone();
                    let party = if p1.is_multiple_of(2) { terms.maker } else { terms.taker };
                    let natural = self.index_or(party, ADMIN);
                    (terms, natural)
                } else {
                    let (natural, terms, _, _) = self.trade(op);
                    (terms, natural)
                };
                (natural, Spec::CancelTrade(terms))
            }
        };
        let signer = if op.natural { natural } else { self.cast.any(p3) };
        let auth = Auth::from_roll(op.auth);
        self.plan(signer, kind, spec, auth, op.salt, counterparty)
    }

    /// A trade between two holders: each gives something it holds (mostly affordable), signed
    /// by the counterparty of the natural signer (or by the wrong key, over other terms, or
    /// garbage), sometimes expired, sometimes a replay of an earlier trade.
    fn trade(&mut self, op: &OpSeed) -> (usize, TradeTerms, Signature, CounterpartySig) {
        let [p0, p1, p2, p3] = op.picks;
        let x = op.extra;
        if x < 10 && !self.trades.is_empty() {
            let (terms, signature, signed, natural) = self.trades[self.pick_trade(p0, p1)].clone();
            return (natural, terms, signature, signed);
        }
        let holders = self.holders();
        let maker = if holders.is_empty() {
            self.cast.accounts[self.cast.any(p0)]
        } else {
            holders[usize::from(p0) % holders.len()]
        };
        // The taker is another holder (the maker itself, rarely, to test self-trades).
        let taker = if holders.len() > 1 && x % 25 != 1 {
            let others: Vec<&AccountId> = holders.iter().filter(|a| **a != maker).collect();
            *others[usize::from(p1) % others.len()]
        } else {
            maker
        };
        let maker_asset = self.asset_of(maker, p2);
        let taker_asset = self.asset_of(taker, p2.wrapping_add(p3));
        let maker_amount = Self::fit(op.amount, self.model.balance(&maker_asset, maker), x);
        let drawn = u128::from(op.salt % 200) + u128::from(x % 7 != 3);
        let taker_amount = Self::fit(drawn, self.model.balance(&taker_asset, taker), x / 2);
        let height = self.ctx.height.0;
        let expiry_height = match x % 10 {
            9 => height - 1,
            8 => height,
            _ => height + 5,
        };
        let terms = TradeTerms {
            maker,
            taker,
            maker_gives: Leg { asset: maker_asset, amount: Amount(maker_amount) },
            taker_gives: Leg { asset: taker_asset, amount: Amount(taker_amount) },
            expiry_height: Height(expiry_height),
            salt: op.salt,
        };
        let maker_signs = p3.is_multiple_of(2);
        let (natural, other) = if maker_signs { (maker, taker) } else { (taker, maker) };
        let natural = self.index_or(natural, ADMIN);
        let other = self.index_or(other, ADMIN);
        let (signature, signed) = match x % 13 {
            // Signed by the signer itself, not the counterparty.
            11 => self.sign_terms(natural, &terms),
            // Signed by the counterparty over different terms.
            12 => {
                let mut changed = terms.clone();
                changed.salt = changed.salt.wrapping_add(1);
                self.sign_terms(other, &changed)
            }
            10 => (Signature([7; 64]), None),
            _ => self.sign_terms(other, &terms),
        };
        self.trades.push((terms.clone(), signature, signed, natural));
        (natural, terms, signature, signed)
    }

    /// An earlier trade: now and then live cancelled terms, half the time one of the last few
    /// (still unexpired, so a replay or a cancellation meets live terms), else any.
    fn pick_trade(&self, pick: u8, roll: u8) -> usize {
        let len = self.trades.len();
        // A third of the time, live terms a party cancelled (they must not settle).
        let height = self.ctx.height;
        let cancelled: Vec<usize> = (0..len)
            .filter(|i| {
                let terms = &self.trades[*i].0;
                terms.expiry_height >= height && self.model.cancelled.contains_key(&terms.id())
            })
            .collect();
        if roll % 3 == 1 && !cancelled.is_empty() {
            return cancelled[usize::from(pick) % cancelled.len()];
        }
        if roll.is_multiple_of(2) {
            len - 1 - usize::from(pick) % len.min(6)
        } else {
            usize::from(pick) % len
        }
    }

    fn sign_terms(&self, who: usize, terms: &TradeTerms) -> (Signature, CounterpartySig) {
        let signature = self.cast.keys[who].sign_raw(&terms.signing_message(&self.chain));
        (signature, Some((self.cast.accounts[who], terms.id())))
    }

    /// Applies one block to both replicas and checks everything.
    fn apply(&mut self, planned: Vec<Planned>, stats: &mut Stats) -> Result<(), TestCaseError> {
        let ctx = self.ctx;
        let txs: Vec<SignedTx> = planned.iter().map(|p| p.tx.clone()).collect();
        let results: Vec<_> = (self.replicas.iter_mut())
            .map(|state| state.apply_block(ctx, &txs))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("block refused: {e}")))?;
        let result = &results[0];
        check(results[1] == *result, || format!("replicas disagree at height {}", ctx.height))?;
        check(result.state_root == self.replicas[0].root(), || {
            "returned root differs from State::root".into()
        })?;
        check(result.receipts.len() == txs.len(), || "one receipt per transaction".into())?;
        for (i, (p, receipt)) in planned.iter().zip(&result.receipts).enumerate() {
            stats.record(p.kind, &receipt.outcome);
            check(receipt.tx_id == p.tx.id(), || format!("tx {i}: receipt id"))?;
            check(Verdict::of(&receipt.outcome) == p.verdict, || {
                format!(
                    "height {} tx {i} {:?}: ledger said {:?}, model predicted {:?}\n{:#?}",
                    ctx.height, p.kind, receipt.outcome, p.verdict, p.tx.body
                )
            })?;
            if !matches!(receipt.outcome, TxOutcome::Rejected(_)) {
                *self.used_nonces.entry(p.tx.body.signer).or_default() += 1;
            }
        }
        invariants::check(&self.replicas[0])
            .map_err(|v| TestCaseError::fail(format!("invariant at {}: {v}", ctx.height)))?;
        let reopened = State::open(self.replicas[0].store().clone())
            .map_err(|e| TestCaseError::fail(format!("reopen: {e}")))?;
        check(reopened.root() == result.state_root, || {
            format!("tree rebuilt from the store differs at {}", ctx.height)
        })?;
        self.compare(ctx)?;
        // Every third block the second replica restarts from its store (empty key cache,
        // rebuilt tree) and carries on: a restart must not change any later root.
        if ctx.height.0.is_multiple_of(3) {
            self.replicas[1] = State::open(self.replicas[1].store().clone())
                .map_err(|e| TestCaseError::fail(format!("reopen replica: {e}")))?;
        }
        self.trace.push(BlockTrace {
            ctx,
            txs,
            receipts: result.receipts.clone(),
            root: result.state_root,
        });
        stats.blocks += 1;
        self.ctx = BlockContext {
            height: Height(ctx.height.0 + 1),
            time: Timestamp(ctx.time.0 + BLOCK_INTERVAL_MS),
        };
        Ok(())
    }

    /// The ledger's whole state, decoded, equals the model; nonces equal used transactions.
    fn compare(&self, ctx: BlockContext) -> Result<(), TestCaseError> {
        let entries = self.replicas[0].entries().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut members = BTreeMap::new();
        let mut currencies = BTreeMap::new();
        let mut classes = BTreeMap::new();
        let mut balances = BTreeMap::new();
        let mut settled = BTreeMap::new();
        let mut cancelled = BTreeMap::new();
        let mut listed = BTreeSet::new();
        let mut duties = BTreeSet::new();
        let mut counts = BTreeMap::new();
        for (key, value) in &entries {
            let key: Key = decode(key)?;
            // Keys of later call families (batteries, leases, ...) are not modelled here.
            if let Key::Meta = key {
                let meta: Meta = decode(value)?;
                check(meta.height == ctx.height && meta.time == ctx.time, || {
                    format!("meta {meta:?} after block {ctx:?}")
                })?;
            } else if let Key::Member(account) = key {
                let m: Member = decode(value)?;
                let model = ModelMember {
                    role: m.role,
                    expiry: m.identity_expiry,
                    frozen: m.frozen,
                    revoked: m.revoked,
                    nonce: m.next_nonce.0,
                    recovered_to: m.recovered_to,
                };
                counts.insert(account, (m.assets, m.duties));
                let used = self.used_nonces.get(&account).copied().unwrap_or(0);
                check(m.next_nonce.0 == used, || {
                    format!("{account:?}: next_nonce {} but {used} used", m.next_nonce)
                })?;
                members.insert(account, model);
            } else if let Key::Balance(asset, account) = key {
                let h: Holding = decode(value)?;
                // An emptied balance leaves no record behind.
                check(!h.amount.is_zero(), || format!("empty balance record {asset:?}"))?;
                balances.insert((asset, account), h.amount.0);
            } else if let Key::Currency(symbol) = key {
                let c: Currency = decode(value)?;
                let model =
                    ModelCurrency { issuer: c.issuer, minted: c.minted.0, burned: c.burned.0 };
                currencies.insert(symbol, model);
            } else if let Key::Class(symbol) = key {
                let c: ShareClass = decode(value)?;
                let model = ModelClass {
                    issuer: c.issuer,
                    cap: c.supply_max.0,
                    issued: c.issued.0,
                    redeemed: c.redeemed.0,
                    paused: c.paused,
                };
                classes.insert(symbol, model);
            } else if let Key::TradeSettled(id) = key {
                settled.insert(id, decode::<Height>(value)?);
            } else if let Key::TradeCancelled(id) = key {
                cancelled.insert(id, decode::<Height>(value)?);
            } else if let Key::Holds(account, asset) = key {
                listed.insert((account, asset));
            } else if let Key::DutyOf(account, duty) = key {
                duties.insert((account, duty));
            }
        }
        let at = ctx.height;
        prop_assert_eq!(&members, &self.model.members, "members at {}", at);
        prop_assert_eq!(&currencies, &self.model.currencies, "currencies at {}", at);
        prop_assert_eq!(&classes, &self.model.classes, "classes at {}", at);
        prop_assert_eq!(&balances, &self.model.balances, "balances at {}", at);
        prop_assert_eq!(&settled, &self.model.settled, "settled trades at {}", at);
        prop_assert_eq!(&cancelled, &self.model.cancelled, "cancelled trades at {}", at);
        prop_assert_eq!(&listed, &self.model.listed(), "holdings index at {}", at);
        let model_duties = self.model.duties();
        prop_assert_eq!(&duties, &model_duties, "roles index at {}", at);
        // Each member record counts exactly its index entries (a recovered key: none).
        for (account, (assets, duty_count)) in counts {
            let want_assets = listed.iter().filter(|(a, _)| *a == account).count();
            let want_duties = model_duties.iter().filter(|(a, _)| *a == account).count();
            prop_assert_eq!(
                (assets as usize, duty_count as usize),
                (want_assets, want_duties),
                "index counts of {:?} at {}",
                account,
                at
            );
        }
        Ok(())
    }
}

fn decode<T: serde::Serialize + serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, TestCaseError> {
    codec::decode(bytes, volt_token::STATE_VALUE_BYTES_MAX)
        .map_err(|e| TestCaseError::fail(format!("stored bytes do not decode: {e}")))
}

/// Builds the world, applies the setup and every random block, checking after each.
fn run(
    world: &WorldSeed,
    blocks: &[Vec<OpSeed>],
    stats: &mut Stats,
) -> Result<Harness, TestCaseError> {
    let mut harness = Harness::new(world);
    harness.setup(world, stats)?;
    for ops in blocks {
        let planned: Vec<Planned> = ops.iter().map(|op| harness.build(op)).collect();
        harness.apply(planned, stats)?;
    }
    Ok(harness)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No regression files: a failure prints its minimal input instead.
        failure_persistence: None,
        ..Config::default()
    }
}

#[test]
fn random_blocks_keep_invariants_and_match_the_model() {
    // Proves supply conservation, no negative balance, sequential nonces, model agreement on
    // every receipt and balance, and equal roots on replicas, over random worlds and blocks.
    let stats = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(config(96));
    let result = runner.run(&(world_seed(), blocks()), |(world, blocks)| {
        run(&world, &blocks, &mut stats.borrow_mut()).map(|_| ())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let stats = stats.into_inner();
    let [applied, failed, rejected] = stats.totals();
    let total = applied + failed + rejected;
    eprintln!(
        "{} blocks, {total} txs: applied {applied} ({:.0}%), failed {failed} ({:.0}%), \
         rejected {rejected} ({:.0}%)",
        stats.blocks,
        100.0 * applied as f64 / total as f64,
        100.0 * failed as f64 / total as f64,
        100.0 * rejected as f64 / total as f64,
    );
    for (kind, [a, f, r]) in &stats.by_kind {
        eprintln!("  {kind:?}: applied {a}, failed {f}, rejected {r}");
    }
    for (code, count) in &stats.codes {
        eprintln!("  {code}: {count}");
    }
    // The test must not pass vacuously: a fifth of all transactions applied, every call family
    // applied at least once, and refusals of both kinds happened.
    assert!(applied * 5 >= total, "only {applied} of {total} applied");
    assert!(failed * 10 >= total && rejected * 20 >= total, "too few refusals");
    for (kind, [a, _, _]) in &stats.by_kind {
        assert!(*a > 0, "{kind:?} never applied");
    }
    assert_eq!(stats.by_kind.len(), 18, "some call family was never generated");
    // The consent rules were exercised: cancelled terms refused, a second recovery refused.
    for code in ["Failed(TradeCancelled)", "Failed(AlreadyRecovered)"] {
        assert!(stats.codes.get(code).is_some_and(|n| *n > 0), "{code} never happened");
    }
}

#[test]
fn changing_one_applied_transaction_changes_the_root() {
    // Proves the root commits to the state: replacing one applied transaction by a copy with a
    // broken signature (so it is rejected) changes the root at that height, and only from there.
    let mutated = RefCell::new(0usize);
    let mut runner = TestRunner::new(config(32));
    let strategy = (world_seed(), blocks(), any::<prop::sample::Index>());
    let result = runner.run(&strategy, |(world, blocks, pick)| {
        let harness = run(&world, &blocks, &mut Stats::default())?;
        // Candidates: applied, with no later transaction of the same signer in the block (a
        // later one could take over the freed nonce and rebuild the same state).
        let mut candidates = Vec::new();
        for (b, block) in harness.trace.iter().enumerate() {
            for (t, receipt) in block.receipts.iter().enumerate() {
                let signer = block.txs[t].body.signer;
                let later = block.txs[t + 1..].iter().any(|tx| tx.body.signer == signer);
                if receipt.outcome == TxOutcome::Applied && !later {
                    candidates.push((b, t));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let (b, t) = candidates[pick.index(candidates.len())];
        let mut state = State::genesis(MemStore::new(), &harness.genesis)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for block in &harness.trace[..b] {
            let result = state.apply_block(block.ctx, &block.txs).map_err(fail)?;
            prop_assert_eq!(result.state_root, block.root);
        }
        let block = &harness.trace[b];
        let mut txs = block.txs.clone();
        txs[t].signature.0[40] ^= 0x10;
        let result = state.apply_block(block.ctx, &txs).map_err(fail)?;
        prop_assert_eq!(&result.receipts[t].outcome, &TxOutcome::Rejected(ErrorCode::BadSignature));
        prop_assert_ne!(result.state_root, block.root);
        *mutated.borrow_mut() += 1;
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let mutated = mutated.into_inner();
    assert!(mutated >= 24, "only {mutated} of 32 cases had a transaction to change");
}

fn fail(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

#[test]
fn model_refuses_what_the_ledger_refuses_for_unused_keys() {
    // Proves the harness itself: a key never registered cannot sign, and its nonce stays unused.
    let seed = WorldSeed {
        investors: 2,
        classes: 1,
        thb_by_issuer2: false,
        cash: vec![100; 4],
        shares: vec![10; 4],
        lapsing: None,
    };
    let mut stats = Stats::default();
    let mut harness = Harness::new(&seed);
    harness.setup(&seed, &mut stats).expect("setup");
    let to = harness.cast.accounts[harness.cast.investor(1)];
    let spec = Spec::Transfer { asset: Asset::Cash(sym("HKD")), to, amount: 1 };
    let stranger = harness.cast.stranger();
    let planned = harness.plan(stranger, Kind::TransferCash, spec, Auth::Good, 0, None);
    assert_eq!(planned.verdict, Verdict::Rejected(ErrorCode::UnknownSigner));
    harness.apply(vec![planned], &mut stats).expect("block");
    let set: BTreeSet<_> = harness.used_nonces.keys().copied().collect();
    assert!(!set.contains(&harness.cast.accounts[stranger]));
}
