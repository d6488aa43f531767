// esp-hil: what the renamed unix-port objects call instead (see mpconfigvariant.mk), and what
// hil_port.c and hil_wifi.c call of each other.
#ifndef HIL_PORT_H
#define HIL_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/select.h>

// sys.stdin's poll ioctl (sys_stdio_mphal.c), as a board's mp_hal_stdio_poll.
uintptr_t hil_stdio_poll(uintptr_t poll_flags);
// time.sleep()'s wait: select() with no descriptors, servicing lwIP until the time is up.
int hil_sleep_select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout);

// The TAP link is the radio: up only while the Wi-Fi station has joined (lwIP passes no frame while down).
void hil_link(bool up);
// The Wi-Fi station (hil_wifi.c): what it does at boot, and its progress each time lwIP is serviced.
void hil_wifi_boot(void);
void hil_wifi_poll(void);

#endif
