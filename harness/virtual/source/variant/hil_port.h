// esp-hil: what the renamed unix-port objects call instead (see mpconfigvariant.mk).
#ifndef HIL_PORT_H
#define HIL_PORT_H

#include <stdint.h>
#include <sys/select.h>

// sys.stdin's poll ioctl (sys_stdio_mphal.c), as a board's mp_hal_stdio_poll.
uintptr_t hil_stdio_poll(uintptr_t poll_flags);
// time.sleep()'s wait: select() with no descriptors, servicing lwIP until the time is up.
int hil_sleep_select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout);

#endif
