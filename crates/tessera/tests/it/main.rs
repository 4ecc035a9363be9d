//! End-to-end tests: the real binary on 127.0.0.1:0, driven over HTTP.
