//! A fixed-capacity hash map of `u64 -> u64` with one writer and lock-free
//! readers, the building block of the MAC and VTEP tables.
//!
//! Open addressing with linear probing over cells of atomics. The single
//! writer (the control thread) inserts, updates and removes; workers read
//! with plain atomic loads. A reader loads key, value, then the key again:
//! if the key changed in between, the cell was reused and it retries, so a
//! reader never pairs a key with another key's value. Removal leaves a
//! tombstone that later inserts reuse; the writer turns a tombstone back
//! into an empty cell as soon as no entry's probe path runs over it, so
//! churn never fills the map with tombstones (which would make every miss
//! scan the whole map). Entries never move, so a reader never misses a
//! live key. Each cell also holds a "last seen" second that readers may
//! refresh, for ageing.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = 1;

/// Keys must have this bit set, so they never equal EMPTY or TOMBSTONE.
pub const KEY_TAG: u64 = 1 << 63;

#[derive(Default)]
#[repr(C, align(32))]
struct Cell {
    key: AtomicU64,
    value: AtomicU64,
    seen: AtomicU32,
    /// Odd while the writer changes which key the cell holds.
    seq: AtomicU32,
}

impl Cell {
    /// Reads (key, value) consistently, or None if a change was in flight.
    #[inline]
    fn read(&self) -> Option<(u64, u64)> {
        let s1 = self.seq.load(Acquire);
        let key = self.key.load(Relaxed);
        let value = self.value.load(Relaxed);
        fence(Acquire);
        let s2 = self.seq.load(Relaxed);
        (s1 == s2 && s1 & 1 == 0).then_some((key, value))
    }

    /// Writer only: changes the cell's key (and value) as one step for readers.
    fn replace(&self, key: u64, value: u64) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        self.value.store(value, Relaxed);
        self.key.store(key, Relaxed);
        self.seq.store(s.wrapping_add(2), Release);
    }
}

/// The shared, readable side of the map.
pub struct AtomicMap {
    cells: Box<[Cell]>,
    mask: usize,
}

/// A hit: the value and the cell it lives in (for [`AtomicMap::touch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub value: u64,
    pub index: usize,
}

#[inline]
fn home(key: u64, mask: usize) -> usize {
    // Fibonacci hashing: the high bits of key * 2^64/phi spread well.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl AtomicMap {
    /// A map of `capacity` cells (rounded up to a power of two). Keep it at
    /// most half full for short probe chains.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        AtomicMap {
            cells: (0..capacity).map(|_| Cell::default()).collect(),
            mask: capacity - 1,
        }
    }

    /// Number of cells.
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    /// Starts loading the cell where a lookup of `key` begins, so that a
    /// later [`Self::get`] finds it in cache (a hint; no effect on results).
    #[inline]
    pub fn prefetch(&self, key: u64) {
        prefetch_index::prefetch_index(&self.cells, home(key, self.mask));
    }

    /// Looks `key` up (any thread). `key` must carry [`KEY_TAG`].
    #[inline]
    pub fn get(&self, key: u64) -> Option<Hit> {
        debug_assert!(key & KEY_TAG != 0);
        let mut i = home(key, self.mask);
        let mut probes = 0;
        while probes < self.cells.len() {
            let cell = &self.cells[i];
            let k = cell.key.load(Acquire);
            if k == EMPTY {
                return None;
            }
            if k == key {
                match cell.read() {
                    Some((k, value)) if k == key => return Some(Hit { value, index: i }),
                    // The cell changed hands; it may still hold our key later
                    // in the chain, so keep probing from here.
                    Some(_) => {}
                    None => {
                        std::hint::spin_loop();
                        continue;
                    }
                }
            }
            i = (i + 1) & self.mask;
            probes += 1;
        }
        None
    }

    /// The second a cell was last seen (see [`AtomicMap::touch`]).
    pub fn seen(&self, index: usize) -> u32 {
        self.cells[index].seen.load(Relaxed)
    }

    /// Marks a cell as seen at `now` (any thread). Writes only when the
    /// second changed, so busy entries don't bounce cache lines.
    #[inline]
    pub fn touch(&self, index: usize, now: u32) {
        let seen = &self.cells[index].seen;
        if seen.load(Relaxed) != now {
            seen.store(now, Relaxed);
        }
    }

    /// Key and value of a live cell, for scans (any thread).
    pub fn entry_at(&self, index: usize) -> Option<(u64, u64)> {
        loop {
            match self.cells[index].read() {
                Some((k, v)) => return (k & KEY_TAG != 0).then_some((k, v)),
                None => std::hint::spin_loop(),
            }
        }
    }
}

/// Why an insert did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Every cell is taken.
    Full,
}

/// The single writer. Only one exists per map, which is what makes the
/// readers' protocol sound; it is not `Clone`.
pub struct MapWriter {
    map: std::sync::Arc<AtomicMap>,
    live: usize,
    tombstones: usize,
}

/// How far the writer looks along a run of occupied cells when deciding
/// whether a tombstone may become empty (runs are short below half load).
const PURGE_SCAN: usize = 256;

impl MapWriter {
    /// A map and its only writer.
    pub fn new(capacity: usize) -> (std::sync::Arc<AtomicMap>, MapWriter) {
        let map = std::sync::Arc::new(AtomicMap::new(capacity));
        (
            map.clone(),
            MapWriter {
                map,
                live: 0,
                tombstones: 0,
            },
        )
    }

    /// The map being written.
    pub fn map(&self) -> &AtomicMap {
        &self.map
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Tombstones left by removals and not yet made empty again.
    pub fn tombstones(&self) -> usize {
        self.tombstones
    }

    /// Inserts or updates `key`; returns the previous value if any.
    pub fn insert(&mut self, key: u64, value: u64, now: u32) -> Result<Option<u64>, InsertError> {
        debug_assert!(key & KEY_TAG != 0);
        let map = &*self.map;
        let mut i = home(key, map.mask);
        let mut reusable = None;
        for _ in 0..map.cells.len() {
            let cell = &map.cells[i];
            let k = cell.key.load(Relaxed);
            if k == key {
                let old = cell.value.swap(value, Release);
                cell.seen.store(now, Relaxed);
                return Ok(Some(old));
            }
            if k == TOMBSTONE && reusable.is_none() {
                reusable = Some(i);
            }
            if k == EMPTY {
                reusable.get_or_insert(i);
                break;
            }
            i = (i + 1) & map.mask;
        }
        let i = reusable.ok_or(InsertError::Full)?;
        let cell = &map.cells[i];
        if cell.key.load(Relaxed) == TOMBSTONE {
            self.tombstones -= 1;
        }
        cell.seen.store(now, Relaxed);
        cell.replace(key, value);
        self.live += 1;
        Ok(None)
    }

    /// Removes `key`; returns its value if it was present.
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        let hit = self.map.get(key)?;
        self.remove_at(hit.index)
    }

    /// Removes whatever lives in cell `index`; returns its value.
    pub fn remove_at(&mut self, index: usize) -> Option<u64> {
        let s = &self.map.cells[index];
        if s.key.load(Relaxed) & KEY_TAG == 0 {
            return None;
        }
        let old = s.value.load(Relaxed);
        s.replace(TOMBSTONE, 0);
        self.live -= 1;
        self.tombstones += 1;
        self.purge_run(index);
        Some(old)
    }

    /// Empties every tombstone of the run of occupied cells around `at`
    /// that no entry's probe path (home cell .. its cell) runs over. A
    /// reader looking for a key walks only its path, so it never stops
    /// early at such a cell.
    fn purge_run(&mut self, at: usize) {
        let map = &*self.map;
        let mask = map.mask;
        let occupied = |i: usize| map.cells[i].key.load(Relaxed) != EMPTY;
        let mut start = at;
        for _ in 0..PURGE_SCAN {
            let before = start.wrapping_sub(1) & mask;
            if before == at || !occupied(before) {
                break;
            }
            start = before;
        }
        let mut t = start;
        for _ in 0..2 * PURGE_SCAN {
            let key = map.cells[t].key.load(Relaxed);
            if key == EMPTY {
                break;
            }
            if key == TOMBSTONE && !self.covered(t) {
                map.cells[t].replace(EMPTY, 0);
                self.tombstones -= 1;
            }
            t = (t + 1) & mask;
        }
    }

    /// Whether some entry after tombstone `t` in its run has its home at or
    /// before `t` (so its probe path crosses `t`). Unsure (run too long):
    /// true.
    fn covered(&self, t: usize) -> bool {
        let map = &*self.map;
        let mask = map.mask;
        let mut q = (t + 1) & mask;
        for _ in 0..PURGE_SCAN {
            let key = map.cells[q].key.load(Relaxed);
            if key == EMPTY {
                return false;
            }
            if key & KEY_TAG != 0 {
                let displacement = q.wrapping_sub(home(key, mask)) & mask;
                if displacement >= q.wrapping_sub(t) & mask {
                    return true;
                }
            }
            q = (q + 1) & mask;
        }
        true
    }

    /// Updates the value of a live cell in place.
    pub fn set_value_at(&mut self, index: usize, value: u64) {
        self.map.cells[index].value.store(value, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u64) -> u64 {
        KEY_TAG | n
    }

    #[test]
    fn insert_get_update_remove() {
        let (map, mut w) = MapWriter::new(16);
        assert_eq!(w.insert(k(1), 10, 5), Ok(None));
        assert_eq!(map.get(k(1)).map(|h| h.value), Some(10));
        assert_eq!(w.insert(k(1), 11, 6), Ok(Some(10)));
        assert_eq!(map.get(k(1)).map(|h| h.value), Some(11));
        assert_eq!(w.len(), 1);
        assert_eq!(w.remove(k(1)), Some(11));
        assert_eq!(map.get(k(1)), None);
        assert!(w.is_empty());
    }

    #[test]
    fn tombstones_keep_chains_intact_and_are_reused() {
        let (map, mut w) = MapWriter::new(8);
        for n in 0..6 {
            w.insert(k(n), n, 0).unwrap();
        }
        for n in 0..6 {
            assert_eq!(map.get(k(n)).unwrap().value, n);
        }
        w.remove(k(2));
        for n in (0..6).filter(|&n| n != 2) {
            assert_eq!(
                map.get(k(n)).unwrap().value,
                n,
                "key {n} lost behind a tombstone"
            );
        }
        // Churn far beyond capacity: tombstones must be reused, never exhaust the map.
        for n in 100..10_000 {
            w.insert(k(n), n, 0).unwrap();
            assert_eq!(w.remove(k(n)), Some(n));
        }
        assert_eq!(w.len(), 5);
    }

    #[test]
    fn churn_leaves_empty_cells_so_misses_stay_short() {
        // Random churn at up to half load: without purging, tombstones
        // take every empty cell and a miss scans the whole map.
        let (map, mut w) = MapWriter::new(1024);
        let mut live = std::collections::VecDeque::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if live.len() < 512 {
                let key = k(x >> 1 & 0xffff_ffff_ffff);
                if w.insert(key, x, 0).unwrap().is_none() {
                    live.push_back(key);
                }
            }
            if live.len() >= 400 {
                let key = live.pop_front().unwrap();
                assert!(w.remove(key).is_some());
            }
        }
        for &key in &live {
            assert!(map.get(key).is_some(), "purging lost a live key");
        }
        let empty = (0..map.capacity())
            .filter(|&s| map.cells[s].key.load(Relaxed) == EMPTY)
            .count();
        assert!(
            empty > map.capacity() / 4,
            "{empty} empty cells, {} tombstones",
            w.tombstones()
        );
        assert_eq!(
            w.tombstones(),
            (0..map.capacity())
                .filter(|&s| map.cells[s].key.load(Relaxed) == TOMBSTONE)
                .count()
        );
    }

    #[test]
    fn readers_never_miss_a_key_that_stays_while_others_churn() {
        let (map, mut w) = MapWriter::new(64);
        for n in 0..16 {
            w.insert(k(n), n, 0).unwrap();
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (map, stop) = (map.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Relaxed) {
                    for n in 0..16 {
                        assert_eq!(map.get(k(n)).map(|h| h.value), Some(n), "key {n} missed");
                    }
                }
            })
        };
        for round in 0..50_000u64 {
            let n = 100 + round % 24;
            if w.insert(k(n), n, 0).unwrap().is_some() {
                w.remove(k(n));
            }
        }
        stop.store(true, Relaxed);
        reader.join().unwrap();
    }

    #[test]
    fn full_map_refuses_new_keys_but_updates_old_ones() {
        let (_, mut w) = MapWriter::new(4);
        for n in 0..4 {
            w.insert(k(n), n, 0).unwrap();
        }
        assert_eq!(w.insert(k(99), 0, 0), Err(InsertError::Full));
        assert_eq!(w.insert(k(3), 33, 0), Ok(Some(3)));
    }

    #[test]
    fn touch_records_seconds_and_scans_see_live_entries() {
        let (map, mut w) = MapWriter::new(8);
        w.insert(k(7), 70, 1).unwrap();
        let hit = map.get(k(7)).unwrap();
        assert_eq!(map.seen(hit.index), 1);
        map.touch(hit.index, 9);
        assert_eq!(map.seen(hit.index), 9);
        let live: Vec<_> = (0..map.capacity())
            .filter_map(|s| map.entry_at(s))
            .collect();
        assert_eq!(live, vec![(k(7), 70)]);
    }

    #[test]
    fn concurrent_readers_never_see_a_foreign_value() {
        // Values always equal their key's low bits; a reader must never see
        // otherwise, even while cells are removed and reused under it.
        let (map, mut w) = MapWriter::new(64);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (map, stop) = (map.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut hits = 0u64;
                    while !stop.load(Relaxed) {
                        for n in 0..48 {
                            if let Some(h) = map.get(k(n)) {
                                assert_eq!(h.value, n);
                                hits += 1;
                            }
                        }
                    }
                    hits
                })
            })
            .collect();
        for round in 0..20_000u64 {
            let n = round % 48;
            w.insert(k(n), n, 0).unwrap();
            if round % 3 == 0 {
                w.remove(k((round * 7) % 48));
            }
        }
        stop.store(true, Relaxed);
        for r in readers {
            r.join().unwrap();
        }
    }
}
