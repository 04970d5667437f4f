//! VXLAN VNI -> VNI slot, for decapsulation: a two-level radix table over
//! the 24-bit VNI (the high 12 bits pick a page of 4096 slots). A lookup is
//! two dependent loads, where a binary search over thousands of VNIs is a
//! dozen; pages exist only for ranges that hold VNIs (8 KiB each), so a
//! few thousand consecutive VNIs cost a page or two.

use crate::types::{Vni, VniSlot};

const PAGE_BITS: u32 = 12;
const PAGE_LEN: usize = 1 << PAGE_BITS;
const NO_PAGE: u16 = u16::MAX;
const NO_SLOT: u16 = u16::MAX;

/// Immutable once built (it lives in the snapshot).
#[derive(Clone, Debug)]
pub struct VniIndex {
    /// By the VNI's high 12 bits: the page's index, or NO_PAGE.
    pages_by_high: Box<[u16; PAGE_LEN]>,
    pages: Vec<Box<[u16; PAGE_LEN]>>,
}

impl VniIndex {
    /// An index of `(vni, slot)` pairs; slot `u16::MAX` is reserved.
    pub fn new(pairs: impl IntoIterator<Item = (Vni, VniSlot)>) -> Self {
        let mut index = VniIndex {
            pages_by_high: Box::new([NO_PAGE; PAGE_LEN]),
            pages: Vec::new(),
        };
        for (vni, VniSlot(slot)) in pairs {
            let vni = vni.get();
            let high = (vni >> PAGE_BITS) as usize;
            if high >= PAGE_LEN || slot == NO_SLOT {
                continue;
            }
            if index.pages_by_high[high] == NO_PAGE {
                index.pages_by_high[high] = index.pages.len() as u16;
                index.pages.push(Box::new([NO_SLOT; PAGE_LEN]));
            }
            let page = usize::from(index.pages_by_high[high]);
            index.pages[page][vni as usize & (PAGE_LEN - 1)] = slot;
        }
        index
    }

    /// The slot of `vni`, if it is configured.
    #[inline]
    pub fn get(&self, vni: Vni) -> Option<VniSlot> {
        let vni = vni.get();
        let page = *self.pages_by_high.get((vni >> PAGE_BITS) as usize)?;
        let slot = *self
            .pages
            .get(usize::from(page))?
            .get(vni as usize & (PAGE_LEN - 1))?;
        (slot != NO_SLOT).then_some(VniSlot(slot))
    }
}

#[cfg(test)]
mod tests {
    use super::{Vni, VniIndex, VniSlot};

    fn vni(v: u32) -> Vni {
        Vni::new(v).unwrap()
    }

    #[test]
    fn finds_configured_vnis_only() {
        let pairs = [
            (1, 0),
            (100, 1),
            (4095, 2),
            (4096, 3),
            (0xff_ffff, 4),
            (8472, 5),
        ];
        let index = VniIndex::new(pairs.map(|(v, s)| (vni(v), VniSlot(s))));
        for (v, slot) in pairs {
            assert_eq!(index.get(vni(v)), Some(VniSlot(slot)), "vni {v}");
        }
        for v in [0, 2, 99, 4097, 0xff_fffe, 0x100_0000, u32::MAX] {
            assert_eq!(Vni::new(v).and_then(|v| index.get(v)), None, "vni {v}");
        }
        assert_eq!(index.pages.len(), 4, "pages 0, 1, 2 and 0xfff");
    }

    #[test]
    fn a_dense_range_takes_few_pages() {
        let index = VniIndex::new((10_000..14_096).map(|v| (vni(v), VniSlot((v - 10_000) as u16))));
        assert_eq!(index.pages.len(), 2);
        assert_eq!(index.get(vni(12_345)), Some(VniSlot(2_345)));
        assert_eq!(index.get(vni(9_999)), None);
    }
}
