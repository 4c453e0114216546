//! Faults a real deployment meets (issue 29), injected into the real binary:
//! a full disk, a PostgreSQL that restarts or stops, a clock that steps, an
//! object store that vanishes, a slow disk. Each test ends with the checks the
//! power-loss test uses: every acknowledged write is there, the log verifies
//! (our verifier, Go's sumdb tile code, `/v1/audit/verify`).

pub mod cluster;
pub mod load;

mod clock;
mod disk_full;
mod object_store;
mod postgres;
mod slow_disk;
