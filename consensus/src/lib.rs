//! Simplex BFT for Volt (in progress).
