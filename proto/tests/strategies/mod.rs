//! proptest strategies for every `volt-proto` type, shared by the proto integration tests.
//!
//! Other crates can copy the pattern: one `fn` or `prop_compose!` per type, built from the
//! strategies of its fields, with `prop_oneof!` over enum variants. Edge values (zero, the
//! maximum, the longest name) are weighted in on purpose, because that is where codecs break.
//!
//! Coverage is checked, not assumed: [`variant_names`] asks serde for the variants an enum
//! declares, and `codec.rs` fails (naming the variant) if a strategy never produces one. So a
//! `Call` variant or `ErrorCode` appended to `proto/src` without a strategy here fails a test
//! instead of silently going untested; [`error_code`] follows appended codes by itself.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use volt_proto::codec;
use volt_proto::{
    AccountId, Amount, Asset, Attestation, BatteryCategory, BatteryReading, BatteryStatus, Call,
    ChainId, Custody, EnergyAttestation, ErrorCode, Hash, Height, LeaseTerms, Leg, Nonce, Passport,
    Receipt, Role, Serial, Signature, SignedTx, SwapAttestation, Symbol, Text, Timestamp,
    TradeTerms, TxBody, TxOutcome,
};

/// Any 32 bytes.
pub fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

/// Any 32 bytes (the codec does not check that an account is a curve point; `sig` does).
pub fn account_id() -> impl Strategy<Value = AccountId> {
    any::<[u8; 32]>().prop_map(AccountId)
}

/// Any 64 bytes.
pub fn signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(r, s)| {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r);
        bytes[32..].copy_from_slice(&s);
        Signature(bytes)
    })
}

/// A u64 with its edges weighted in.
pub fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => Just(u64::MAX),
        6 => any::<u64>(),
    ]
}

/// Any height.
pub fn height() -> impl Strategy<Value = Height> {
    edgy_u64().prop_map(Height)
}

/// Any nonce.
pub fn nonce() -> impl Strategy<Value = Nonce> {
    edgy_u64().prop_map(Nonce)
}

/// Any timestamp.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    edgy_u64().prop_map(Timestamp)
}

/// Any amount, with zero and `u128::MAX` weighted in.
pub fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        1 => Just(Amount::ZERO),
        1 => Just(Amount(u128::MAX)),
        6 => any::<u128>().prop_map(Amount),
    ]
}

/// A valid symbol: 1 to 24 bytes of `A-Z 0-9 - _ .`, the full length weighted in.
pub fn symbol() -> impl Strategy<Value = Symbol> {
    prop_oneof!["[A-Z0-9._-]{1,24}", "[A-Z0-9._-]{24}", Just("HKD".to_owned()),]
        .prop_map(|name| Symbol::new(&name).expect("the pattern only produces valid symbols"))
}

/// A valid chain id: 1 to 32 bytes of `a-z 0-9 -`, the full length weighted in.
pub fn chain_id() -> impl Strategy<Value = ChainId> {
    prop_oneof!["[a-z0-9-]{1,32}", "[a-z0-9-]{32}"]
        .prop_map(|name| ChainId::new(&name).expect("the pattern only produces valid chain ids"))
}

/// Valid text: any UTF-8 of at most 256 bytes, including empty and exactly 256 bytes.
pub fn text() -> impl Strategy<Value = Text> {
    // 64 characters of at most 4 bytes each stay within 256 bytes.
    prop_oneof!["\\PC{0,64}", ".{0,64}", "[a-z]{256}", "é{128}", Just(String::new())]
        .prop_map(|text| Text::new(&text).expect("the patterns stay within 256 bytes"))
}

/// Any role.
pub fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Admin),
        Just(Role::Issuer),
        Just(Role::Operator),
        Just(Role::Station),
        Just(Role::Investor),
        Just(Role::Auditor),
    ]
}

/// Any asset.
pub fn asset() -> impl Strategy<Value = Asset> {
    prop_oneof![symbol().prop_map(Asset::Cash), symbol().prop_map(Asset::Shares)]
}

prop_compose! {
    /// Any leg.
    pub fn leg()(asset in asset(), amount in amount()) -> Leg {
        Leg { asset, amount }
    }
}

prop_compose! {
    /// Any trade terms.
    pub fn trade_terms()(
        maker in account_id(),
        taker in account_id(),
        maker_gives in leg(),
        taker_gives in leg(),
        expiry_height in height(),
        salt in edgy_u64(),
    ) -> TradeTerms {
        TradeTerms { maker, taker, maker_gives, taker_gives, expiry_height, salt }
    }
}

/// Any call, every variant about equally likely (each group is weighted by its size). Boxed, like
/// its groups: the unboxed value tree of so many variants is large enough to overflow a test
/// thread's stack in the dev profile.
pub fn call() -> BoxedStrategy<Call> {
    prop_oneof![
        7 => membership_call(),
        4 => cash_call(),
        4 => share_call(),
        5 => battery_call(),
        5 => station_call(),
        5 => lease_call(),
        2 => revenue_call(),
    ]
    .boxed()
}

fn membership_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (account_id(), role(), timestamp()).prop_map(|(account, role, identity_expiry)| {
            Call::RegisterMember { account, role, identity_expiry }
        }),
        (account_id(), text()).prop_map(|(account, reason)| Call::RevokeMember { account, reason }),
        (account_id(), text()).prop_map(|(account, reason)| Call::Freeze { account, reason }),
        account_id().prop_map(|account| Call::Unfreeze { account }),
        (account_id(), account_id(), proptest::option::of(timestamp()), text()).prop_map(
            |(lost, new, identity_expiry, reason)| Call::RecoverWallet {
                lost,
                new,
                identity_expiry,
                reason
            }
        ),
        (account_id(), timestamp()).prop_map(|(account, identity_expiry)| {
            Call::RenewIdentity { account, identity_expiry }
        }),
        symbol().prop_map(|class| Call::PauseClass { class }),
        symbol().prop_map(|class| Call::UnpauseClass { class }),
    ]
    .boxed()
}

fn cash_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (symbol(), account_id())
            .prop_map(|(currency, issuer)| Call::RegisterCurrency { currency, issuer }),
        (symbol(), account_id(), amount()).prop_map(|(currency, to, amount)| Call::Mint {
            currency,
            to,
            amount
        }),
        (symbol(), amount()).prop_map(|(currency, amount)| Call::Burn { currency, amount }),
        (asset(), account_id(), amount()).prop_map(|(asset, to, amount)| Call::Transfer {
            asset,
            to,
            amount
        }),
    ]
    .boxed()
}

fn share_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (symbol(), text(), amount()).prop_map(|(class, name, supply_max)| Call::CreateClass {
            class,
            name,
            supply_max
        }),
        (symbol(), account_id(), amount()).prop_map(|(class, to, amount)| Call::IssueShares {
            class,
            to,
            amount
        }),
        (symbol(), amount()).prop_map(|(class, amount)| Call::RedeemShares { class, amount }),
        (trade_terms(), signature()).prop_map(|(terms, counterparty_signature)| Call::Trade {
            terms,
            counterparty_signature
        }),
        trade_terms().prop_map(|terms| Call::CancelTrade { terms }),
    ]
    .boxed()
}

fn battery_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (serial(), passport(), symbol()).prop_map(|(serial, passport, warehouse)| {
            Call::RegisterBattery { serial, passport, warehouse }
        }),
        (serial(), hash(), text()).prop_map(|(serial, document_hash, document_uri)| {
            Call::UpdatePassportDocument { serial, document_hash, document_uri }
        }),
        (serial(), battery_status(), proptest::option::of(any::<u16>())).prop_map(
            |(serial, status, soh_permille)| Call::SetBatteryStatus {
                serial,
                status,
                soh_permille
            }
        ),
        (serial(), custody()).prop_map(|(serial, to)| Call::MoveCustody { serial, to }),
        (serial(), account_id()).prop_map(|(serial, to)| Call::TransferBattery { serial, to }),
        (account_id(), any::<bool>())
            .prop_map(|(delegate, allowed)| Call::SetDelegate { delegate, allowed }),
        (symbol(), text(), amount(), proptest::collection::vec(serial(), 0..8), symbol(),)
            .prop_map(|(class, name, supply_max, batteries, revenue_currency)| {
                Call::CreateBatteryClass { class, name, supply_max, batteries, revenue_currency }
            }),
    ]
    .boxed()
}

fn station_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (symbol(), account_id(), text(), any::<u16>(), any::<u16>()).prop_map(
            |(station, controller, location, slots, operator_cut_bps)| Call::RegisterStation {
                station,
                controller,
                location,
                slots,
                operator_cut_bps,
            }
        ),
        (symbol(), account_id())
            .prop_map(|(station, controller)| Call::RotateStationKey { station, controller }),
        symbol().prop_map(|station| Call::DecommissionStation { station }),
        symbol().prop_map(|vehicle| Call::RegisterVehicle { vehicle }),
        (attestation(), signature()).prop_map(|(attestation, signature)| {
            Call::SubmitAttestation { attestation, signature }
        }),
    ]
    .boxed()
}

fn lease_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (lease_terms(), signature())
            .prop_map(|(terms, lessee_signature)| Call::OpenLease { terms, lessee_signature }),
        (hash(), any::<u32>()).prop_map(|(lease, periods)| Call::PayRent { lease, periods }),
        (hash(), any::<u32>()).prop_map(|(lease, periods)| Call::ExtendLease { lease, periods }),
        hash().prop_map(|lease| Call::CloseLease { lease }),
        hash().prop_map(|lease| Call::DefaultLease { lease }),
        hash().prop_map(|lease| Call::SettleLease { lease }),
        hash().prop_map(|lease| Call::ReleaseDeposit { lease }),
    ]
    .boxed()
}

fn revenue_call() -> BoxedStrategy<Call> {
    prop_oneof![
        (symbol(), amount()).prop_map(|(class, amount)| Call::DepositRevenue { class, amount }),
        symbol().prop_map(|class| Call::ClaimRevenue { class }),
    ]
    .boxed()
}

/// A valid serial: 1 to 50 bytes of `A-Z a-z 0-9 - _ .`, the full length weighted in.
pub fn serial() -> impl Strategy<Value = Serial> {
    prop_oneof!["[A-Za-z0-9._-]{1,50}", "[A-Za-z0-9._-]{50}"]
        .prop_map(|name| Serial::new(&name).expect("the pattern only produces valid serials"))
}

/// Any battery category.
pub fn battery_category() -> impl Strategy<Value = BatteryCategory> {
    prop_oneof![
        Just(BatteryCategory::Lmt),
        Just(BatteryCategory::Ev),
        Just(BatteryCategory::Industrial),
        Just(BatteryCategory::Stationary),
    ]
}

/// Any battery status.
pub fn battery_status() -> impl Strategy<Value = BatteryStatus> {
    prop_oneof![
        Just(BatteryStatus::Original),
        Just(BatteryStatus::Reused),
        Just(BatteryStatus::Repurposed),
        Just(BatteryStatus::Remanufactured),
        Just(BatteryStatus::Waste),
    ]
}

prop_compose! {
    /// Any passport.
    pub fn passport()(
        texts in (text(), text(), text(), text(), text()),
        category in battery_category(),
        manufacturing_date in timestamp(),
        numbers in (any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()),
        document_hash in hash(),
    ) -> Passport {
        let (product_id, chemistry, manufacturer, manufacturing_place, document_uri) = texts;
        Passport {
            product_id,
            category,
            chemistry,
            manufacturer,
            manufacturing_date,
            manufacturing_place,
            rated_capacity_mah: numbers.0,
            rated_energy_wh: numbers.1,
            nominal_voltage_mv: numbers.2,
            expected_lifetime_cycles: numbers.3,
            carbon_footprint_g_per_kwh: numbers.4,
            document_hash,
            document_uri,
        }
    }
}

/// Any custodian.
pub fn custody() -> impl Strategy<Value = Custody> {
    prop_oneof![
        symbol().prop_map(Custody::Warehouse),
        (symbol(), any::<u16>()).prop_map(|(station, slot)| Custody::Station { station, slot }),
        symbol().prop_map(Custody::Vehicle),
        symbol().prop_map(Custody::Recycler),
    ]
}

prop_compose! {
    /// Any battery reading (values beyond 1000 ‰ included: range checks are the ledger's job).
    pub fn battery_reading()(
        serial in serial(),
        soc_permille in any::<u16>(),
        soh_permille in any::<u16>(),
        cycles in any::<u32>(),
    ) -> BatteryReading {
        BatteryReading { serial, soc_permille, soh_permille, cycles }
    }
}

prop_compose! {
    /// Any swap attestation.
    pub fn swap_attestation()(
        station in symbol(),
        counter in edgy_u64(),
        station_time in timestamp(),
        vehicle in symbol(),
        battery_out in battery_reading(),
        battery_in in battery_reading(),
        energy_wh in edgy_u64(),
        fee in amount(),
        currency in symbol(),
    ) -> SwapAttestation {
        SwapAttestation {
            station, counter, station_time, vehicle, battery_out, battery_in, energy_wh, fee,
            currency,
        }
    }
}

prop_compose! {
    /// Any energy attestation.
    pub fn energy_attestation()(
        station in symbol(),
        counter in edgy_u64(),
        station_time in timestamp(),
        battery in serial(),
        energy_wh in edgy_u64(),
        payer in account_id(),
        payment in amount(),
        currency in symbol(),
    ) -> EnergyAttestation {
        EnergyAttestation {
            station, counter, station_time, battery, energy_wh, payer, payment, currency,
        }
    }
}

/// Any attestation.
pub fn attestation() -> BoxedStrategy<Attestation> {
    prop_oneof![
        swap_attestation().prop_map(Attestation::Swap),
        energy_attestation().prop_map(Attestation::Energy),
    ]
    .boxed()
}

prop_compose! {
    /// Any lease terms.
    pub fn lease_terms()(
        (class, lessor, lessee, offer_expiry) in (symbol(), account_id(), account_id(), timestamp()),
        (fee_per_swap_max, fee_per_kwh_max) in (amount(), amount()),
        rent_per_period in amount(),
        period_ms in edgy_u64(),
        periods in any::<u32>(),
        deposit in amount(),
        grace_ms in edgy_u64(),
        (extension_periods_max, notice_periods) in (any::<u32>(), any::<u32>()),
        salt in edgy_u64(),
    ) -> LeaseTerms {
        LeaseTerms {
            class,
            lessor,
            lessee,
            offer_expiry,
            fee_per_swap_max,
            fee_per_kwh_max,
            rent_per_period,
            period_ms,
            periods,
            deposit,
            grace_ms,
            extension_periods_max,
            notice_periods,
            salt,
        }
    }
}

/// The variants `T` declares, in declaration order, as serde sees them (so the list grows by
/// itself when a variant is appended).
///
/// # Panics
/// If `T` does not deserialize as an enum.
pub fn variant_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut found = None;
    let _refused = T::deserialize(VariantProbe(&mut found));
    found.expect("not an enum")
}

/// The variant a value is, read from its derived `Debug` output (`Name`, `Name(..)` or
/// `Name { .. }`).
pub fn variant_of(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// A deserializer that only records the variant list serde hands to `deserialize_enum`.
struct VariantProbe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for VariantProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only enums are probed"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(variants);
        Err(de::Error::custom("probe only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

prop_compose! {
    /// Any transaction body.
    pub fn tx_body()(
        chain_id in chain_id(),
        signer in account_id(),
        nonce in nonce(),
        expiry_height in height(),
        call in call(),
    ) -> TxBody {
        TxBody { chain_id, signer, nonce, expiry_height, call }
    }
}

prop_compose! {
    /// Any signed transaction (the signature is random bytes: the codec does not verify it).
    pub fn signed_tx()(body in tx_body().boxed(), signature in signature()) -> SignedTx {
        SignedTx { body, signature }
    }
}

/// Any error code, including codes appended after this file was written: a code is its u32
/// declaration index on the wire, and serde says how many there are.
pub fn error_code() -> impl Strategy<Value = ErrorCode> {
    let count = variant_names::<ErrorCode>().len() as u32;
    (0..count).prop_map(|index| {
        codec::decode(&index.to_le_bytes(), 4).expect("every index below the count is a code")
    })
}

/// Any outcome.
pub fn tx_outcome() -> impl Strategy<Value = TxOutcome> {
    prop_oneof![
        Just(TxOutcome::Applied),
        error_code().prop_map(TxOutcome::Failed),
        error_code().prop_map(TxOutcome::Rejected),
        error_code().prop_map(TxOutcome::Disputed),
    ]
}

prop_compose! {
    /// Any receipt.
    pub fn receipt()(tx_id in hash(), outcome in tx_outcome()) -> Receipt {
        Receipt { tx_id, outcome }
    }
}

/// Valid encodings of a signed transaction with random damage: bytes overwritten, inserted or
/// removed. Such inputs reach far deeper into the decoder than uniform random bytes.
pub fn damaged_signed_tx_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        signed_tx(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    )
        .prop_map(|(tx, edits)| {
            let mut bytes = tx.encode();
            for (index, byte, kind) in edits {
                let at = index.index(bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.push(byte),
                }
            }
            bytes
        })
}
