//! The batches a pusher has encoded and not yet delivered, oldest first, within a time
//! cap and a byte cap.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// One push: an encoded, compressed request body.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) body: Bytes,
    /// Samples (data points) in it.
    pub(crate) samples: usize,
    /// When it was captured.
    pub(crate) taken: Instant,
}

/// What the queue let go to stay within its caps.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub(crate) batches: usize,
    pub(crate) samples: usize,
}

/// Batches waiting to be sent, oldest first.
#[derive(Debug)]
pub(crate) struct Queue {
    batches: VecDeque<Batch>,
    bytes: usize,
    samples: usize,
    max_age: Duration,
    max_bytes: usize,
}

impl Queue {
    pub(crate) fn new(max_age: Duration, max_bytes: usize) -> Queue {
        Queue {
            batches: VecDeque::new(),
            bytes: 0,
            samples: 0,
            max_age,
            max_bytes,
        }
    }

    /// Adds `batch` at the back, then drops the oldest batches while the queue holds
    /// more than its byte cap (the newest batch always stays) or batches older than
    /// its time cap.
    pub(crate) fn push(&mut self, batch: Batch) -> Dropped {
        self.bytes += batch.body.len();
        self.samples += batch.samples;
        let now = batch.taken;
        self.batches.push_back(batch);
        let mut dropped = Dropped::default();
        while self.batches.len() > 1 && self.bytes > self.max_bytes {
            self.drop_front(&mut dropped);
        }
        dropped.add(self.expire(now));
        dropped
    }

    /// Drops the batches captured longer than the time cap before `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Dropped {
        let mut dropped = Dropped::default();
        while self
            .batches
            .front()
            .is_some_and(|batch| now.saturating_duration_since(batch.taken) > self.max_age)
        {
            self.drop_front(&mut dropped);
        }
        dropped
    }

    fn drop_front(&mut self, dropped: &mut Dropped) {
        if let Some(batch) = self.pop() {
            dropped.batches += 1;
            dropped.samples += batch.samples;
        }
    }

    /// The oldest batch.
    pub(crate) fn front(&self) -> Option<&Batch> {
        self.batches.front()
    }

    /// Takes the oldest batch out.
    pub(crate) fn pop(&mut self) -> Option<Batch> {
        let batch = self.batches.pop_front()?;
        self.bytes -= batch.body.len();
        self.samples -= batch.samples;
        Some(batch)
    }

    /// The time cap.
    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Samples in all the batches.
    pub(crate) fn samples(&self) -> usize {
        self.samples
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.batches.len()
    }
}

impl Dropped {
    fn add(&mut self, other: Dropped) {
        self.batches += other.batches;
        self.samples += other.samples;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(bytes: usize, samples: usize, taken: Instant) -> Batch {
        Batch {
            body: Bytes::from(vec![0; bytes]),
            samples,
            taken,
        }
    }

    #[test]
    fn the_oldest_go_first_when_the_bytes_are_full() {
        let start = Instant::now();
        let mut queue = Queue::new(Duration::from_secs(600), 250);
        assert_eq!(queue.push(batch(100, 1, start)), Dropped::default());
        assert_eq!(queue.push(batch(100, 2, start)), Dropped::default());
        let dropped = queue.push(batch(100, 3, start));
        assert_eq!(
            dropped,
            Dropped {
                batches: 1,
                samples: 1
            }
        );
        assert_eq!((queue.len(), queue.samples()), (2, 5));
        assert_eq!(queue.pop().unwrap().samples, 2);
        // A batch larger than the cap stays, alone.
        let dropped = queue.push(batch(1000, 7, start));
        assert_eq!(
            dropped,
            Dropped {
                batches: 1,
                samples: 3
            }
        );
        assert_eq!((queue.len(), queue.samples()), (1, 7));
        assert_eq!(queue.pop().unwrap().samples, 7);
        assert!(queue.is_empty() && queue.front().is_none());
    }

    #[test]
    fn batches_older_than_the_time_cap_go() {
        let start = Instant::now();
        let mut queue = Queue::new(Duration::from_secs(10), usize::MAX);
        for second in 0..10 {
            queue.push(batch(1, 1, start + Duration::from_secs(second)));
        }
        assert_eq!(queue.len(), 10);
        let dropped = queue.push(batch(1, 1, start + Duration::from_secs(12)));
        // Taken at 0 and 1: more than 10 s before 12.
        assert_eq!(
            dropped,
            Dropped {
                batches: 2,
                samples: 2
            }
        );
        assert_eq!(queue.front().unwrap().taken, start + Duration::from_secs(2));
        assert_eq!(queue.expire(start + Duration::from_secs(100)).batches, 9);
        assert!(queue.is_empty());
    }
}
