//! Battery-ledger wire types: passports, health, custody, stations, attestations and leases.

use crate::codec;
use crate::sig::{self, Domain};
use crate::types::{NameError, check_name};
use crate::{AccountId, Amount, ChainId, Hash, Symbol, Text, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A battery's unique serial number: 1 to [`Serial::BYTES_MAX`] bytes of `A-Z a-z 0-9 - _ .`
/// (OCPP 2.1 allows serial numbers of up to 50 characters).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial(String);

impl Serial {
    /// Longest serial, in bytes.
    pub const BYTES_MAX: usize = 50;

    /// Validates `text` as a serial.
    pub fn new(text: &str) -> Result<Serial, NameError> {
        check_name(text, Self::BYTES_MAX, "A-Z a-z 0-9 - _ .", |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        })?;
        Ok(Serial(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Serial {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Serial::new(&value)
    }
}

impl From<Serial> for String {
    fn from(value: Serial) -> Self {
        value.0
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Battery category (EU Battery Regulation 2023/1542).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatteryCategory {
    /// Light means of transport (e-bikes, scooters).
    Lmt,
    /// Electric vehicle.
    Ev,
    /// Industrial.
    Industrial,
    /// Stationary energy storage.
    Stationary,
}

/// The static battery passport (EU 2023/1542 Annex XIII). Units are in the field names; no
/// floats anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passport {
    /// Unique product identifier (ISO/IEC 15459), as printed on the QR code.
    pub product_id: Text,
    /// Category.
    pub category: BatteryCategory,
    /// Cell chemistry, e.g. `LFP`, `NMC811`.
    pub chemistry: Text,
    /// Manufacturer name and identifier.
    pub manufacturer: Text,
    /// Manufacturing date (start of day, ms since the Unix epoch).
    pub manufacturing_date: Timestamp,
    /// Manufacturing place.
    pub manufacturing_place: Text,
    /// Rated capacity in milliampere-hours.
    pub rated_capacity_mah: u64,
    /// Rated energy in watt-hours.
    pub rated_energy_wh: u64,
    /// Nominal voltage in millivolts.
    pub nominal_voltage_mv: u32,
    /// Expected lifetime in full cycles.
    pub expected_lifetime_cycles: u32,
    /// Carbon footprint in grams of CO₂e per kWh of rated energy.
    pub carbon_footprint_g_per_kwh: u32,
    /// blake3 of the full passport document held off-chain.
    pub document_hash: Hash,
    /// Where the full passport document is published.
    pub document_uri: Text,
}

/// Lifecycle status: moves forward only; `Waste` is terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BatteryStatus {
    /// First life.
    Original,
    /// Reused as is (second life, same purpose).
    Reused,
    /// Repurposed (second life, other purpose, e.g. stationary storage).
    Repurposed,
    /// Remanufactured (state of health may be restored).
    Remanufactured,
    /// End of life: no more leases or swaps.
    Waste,
}

impl BatteryStatus {
    /// True if moving from `self` to `next` is allowed: Original → Reused / Repurposed /
    /// Remanufactured → Waste, any step may be skipped, never backwards, never sideways
    /// between the second-life states.
    pub fn may_become(self, next: BatteryStatus) -> bool {
        use BatteryStatus::*;
        match (self, next) {
            (Waste, _) => false,
            (_, Waste) => true,
            (Original, Reused | Repurposed | Remanufactured) => true,
            _ => false,
        }
    }
}

/// Who holds a battery: exactly one custodian at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Custody {
    /// In a warehouse (site code).
    Warehouse(Symbol),
    /// In a station slot.
    Station {
        /// The station.
        station: Symbol,
        /// The slot, below the station's slot count.
        slot: u16,
    },
    /// In a vehicle.
    Vehicle(Symbol),
    /// With a recycler (site code).
    Recycler(Symbol),
}

/// Battery readings in an attestation, from the battery management system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatteryReading {
    /// The battery.
    pub serial: Serial,
    /// State of charge, per mille (0..=1000).
    pub soc_permille: u16,
    /// State of health, per mille (0..=1000).
    pub soh_permille: u16,
    /// Full equivalent cycles so far.
    pub cycles: u32,
}

/// A station controller's signed record of one swap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapAttestation {
    /// The station.
    pub station: Symbol,
    /// Exactly one more than the station's last recorded attestation.
    pub counter: u64,
    /// The station's own clock (for the record; the ledger's time is the block's).
    pub station_time: Timestamp,
    /// The vehicle served.
    pub vehicle: Symbol,
    /// The battery taken out of the vehicle (vehicle → station).
    pub battery_out: BatteryReading,
    /// The battery put into the vehicle (station → vehicle).
    pub battery_in: BatteryReading,
    /// Energy delivered by the returned battery since its last swap, in watt-hours.
    pub energy_wh: u64,
    /// The swap fee, charged to the vehicle's fleet.
    pub fee: Amount,
    /// The fee's currency.
    pub currency: Symbol,
}

/// A station controller's signed record of an energy export (vehicle-to-grid or stationary
/// discharge) paid for by an offtaker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnergyAttestation {
    /// The station.
    pub station: Symbol,
    /// Shares the station's counter sequence with swaps.
    pub counter: u64,
    /// The station's own clock.
    pub station_time: Timestamp,
    /// The battery discharged (in the station's custody).
    pub battery: Serial,
    /// Energy exported, in watt-hours.
    pub energy_wh: u64,
    /// The offtaker paying for it (must be the transaction's signer).
    pub payer: AccountId,
    /// The payment.
    pub payment: Amount,
    /// The payment's currency.
    pub currency: Symbol,
}

/// Anything a station controller signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attestation {
    /// A battery swap.
    Swap(SwapAttestation),
    /// An energy export.
    Energy(EnergyAttestation),
}

impl Attestation {
    /// The station that signed it.
    pub fn station(&self) -> &Symbol {
        match self {
            Attestation::Swap(a) => &a.station,
            Attestation::Energy(a) => &a.station,
        }
    }

    /// The currency its fee or payment is in.
    pub fn currency(&self) -> &Symbol {
        match self {
            Attestation::Swap(a) => &a.currency,
            Attestation::Energy(a) => &a.currency,
        }
    }

    /// Its counter.
    pub fn counter(&self) -> u64 {
        match self {
            Attestation::Swap(a) => a.counter,
            Attestation::Energy(a) => a.counter,
        }
    }

    /// blake3 of the canonical attestation: what identifies it.
    pub fn id(&self) -> Hash {
        codec::hash(self)
    }

    /// The exact bytes the controller signs.
    pub fn signing_message(&self, chain_id: &ChainId) -> Vec<u8> {
        sig::signing_message(Domain::Attestation, chain_id, &codec::encode(self))
    }
}

/// The terms of a lease of a share class's batteries to a lessee. Both sides are bound: the
/// lessor (the class's issuer) or its delegate signs the transaction that opens the lease, the
/// lessee signs these terms ([`Domain::LeaseTerms`]), and the terms name both, so nobody else
/// can use a lessee's signed offer, and nobody can use it after `offer_expiry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseTerms {
    /// The share class whose batteries are leased and whose holders receive the rent.
    pub class: Symbol,
    /// The lessor: the class's issuer, which alone (or through its delegate) may open the lease.
    pub lessor: AccountId,
    /// Who leases them (and pays swap fees for the vehicles of its fleet).
    pub lessee: AccountId,
    /// The lessee's offer lapses after this block time: the lease cannot be opened later.
    pub offer_expiry: Timestamp,
    /// The most one swap may charge the lessee's fleet as a fixed part, in the class's revenue
    /// currency.
    pub fee_per_swap_max: Amount,
    /// The most one swap may charge per kWh delivered, on top of `fee_per_swap_max`.
    pub fee_per_kwh_max: Amount,
    /// Rent per period, in the class's revenue currency.
    pub rent_per_period: Amount,
    /// Length of a period, in milliseconds.
    pub period_ms: u64,
    /// Number of periods in the term.
    pub periods: u32,
    /// Deposit held in escrow while the lease runs.
    pub deposit: Amount,
    /// How long rent may be overdue before the lessor can declare a default, in milliseconds.
    pub grace_ms: u64,
    /// Periods the lessee may add alone, in total, at the same rent, before the term ends (the
    /// lessor agreed to them by signing the lease open).
    pub extension_periods_max: u32,
    /// Periods of notice an early close costs: the lessee closes before the term ends only with
    /// rent paid through the periods started so far plus these (capped at the term).
    pub notice_periods: u32,
    /// Distinguishes otherwise identical leases.
    pub salt: u64,
}

impl LeaseTerms {
    /// The lease id: blake3 of the canonical terms.
    pub fn id(&self) -> Hash {
        codec::hash(self)
    }

    /// The exact bytes the lessee signs.
    pub fn signing_message(&self, chain_id: &ChainId) -> Vec<u8> {
        sig::signing_message(Domain::LeaseTerms, chain_id, &codec::encode(self))
    }
}
