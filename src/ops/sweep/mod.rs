//! `sweep`: one migration over many repositories, each isolated (its own worker process,
//! timeout, log and result), resumable, and sharded by a stable hash so that a CI matrix
//! or a Kubernetes Indexed Job can split it.

pub mod report;
