/* Small C helpers for what bindgen cannot express. */
#include "dpdk.h"

int vtepgw_rte_errno(void) { return rte_errno; }
