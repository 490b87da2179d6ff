//! What a connection carried: data messages and payload bytes each way.

use std::time::Duration;

use crate::summary::{Ending, Summary};

/// Data messages and payload bytes each way, for the [`Summary`].
#[derive(Default)]
pub(super) struct Counts {
    messages_in: u64,
    messages_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Counts {
    pub(super) fn received(&mut self, bytes: u64) {
        self.messages_in += 1;
        self.bytes_in += bytes;
    }

    pub(super) fn sent(&mut self, bytes: u64) {
        self.messages_out += 1;
        self.bytes_out += bytes;
    }

    /// As [`Live::report`] takes them.
    pub(super) fn all(&self) -> [u64; 4] {
        [
            self.messages_in,
            self.messages_out,
            self.bytes_in,
            self.bytes_out,
        ]
    }

    pub(super) fn summary(&self, duration: Duration, ending: Ending) -> Summary {
        Summary {
            messages_in: self.messages_in,
            messages_out: self.messages_out,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            duration,
            ending,
        }
    }
}
