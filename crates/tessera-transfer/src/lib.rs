//! The Transfer service: Globus Transfer v0.10 on Tessera's listener.
//!
//! `storage` is the only code that touches files: a blocking [`storage::Storage`] trait, one
//! implementation per kind of storage (POSIX first), every path confined to an endpoint's root.
//! `data` moves bytes between two storages (one file, a walked tree, a mirror's extras) and
//! never opens a path itself.

pub mod data;
pub mod storage;
