// esp-hil: lwIP's configuration for this board: MicroPython's common one, IPv4 only.
#ifndef HIL_LWIPOPTS_H
#define HIL_LWIPOPTS_H

#include <stdint.h>

#define LWIP_IPV4                       1
#define LWIP_IPV6                       0
#define LWIP_RAND()                     hil_lwip_rand()
uint32_t hil_lwip_rand(void);

#include "extmod/lwip-include/lwipopts_common.h"

// lwipopts_common.h assumes a 32-bit MCU; pointers here are 8 bytes.
#undef MEM_ALIGNMENT
#define MEM_ALIGNMENT                   8

#if HIL_SANITIZE
// Every pcb and pbuf its own heap block, so ASan sees a write past the end of one.
#define MEM_LIBC_MALLOC                 1
#define MEMP_MEM_MALLOC                 1
#endif

// Queue (rather than drop) packets sent while ARP resolves the peer, so a first UDP datagram is not lost.
#define ARP_QUEUEING                    1

#endif
