/* The DPDK headers vtepgw binds to (bindgen input, see build.rs). */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_bus.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/* rte_errno is a thread-local variable, which bindgen cannot bind. */
int vtepgw_rte_errno(void);
