// An 802.1Q access port in eBPF, attached with tc to a host's interface:
// frames leaving it get tagged with VLAN_ID; tagged frames arriving with
// VLAN_ID are untagged; anything else arriving is dropped. The demo and
// tests use it for the "physical host on VLAN 10" because the kernels we
// run on may lack the 8021q module (and bridge VLAN filtering), while
// clsact + cls_bpf are built in. Build: see scripts/vlan_access.sh.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#ifndef VLAN_ID
#define VLAN_ID 10
#endif

static long (*bpf_skb_vlan_push)(struct __sk_buff *skb, __be16 proto, __u16 tci) = (void *)BPF_FUNC_skb_vlan_push;
static long (*bpf_skb_vlan_pop)(struct __sk_buff *skb) = (void *)BPF_FUNC_skb_vlan_pop;

__attribute__((section("tc/egress"), used)) int tag(struct __sk_buff *skb)
{
    return bpf_skb_vlan_push(skb, __builtin_bswap16(0x8100), VLAN_ID) ? TC_ACT_SHOT : TC_ACT_OK;
}

__attribute__((section("tc/ingress"), used)) int untag(struct __sk_buff *skb)
{
    if (!skb->vlan_present || (skb->vlan_tci & 0x0fff) != VLAN_ID)
        return TC_ACT_SHOT;
    return bpf_skb_vlan_pop(skb) ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
