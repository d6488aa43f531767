// esp-hil: a unix-port variant that runs the firmware's own network code.
//
// The socket module is extmod/modlwip.c on lib/lwip (raw API, driven
// cooperatively as on ESP8266), os.dupterm is extmod/os_dupterm.c with the
// bare-metal read side, and WebREPL is extmod/modwebrepl.c with
// micropython-lib's webrepl.py. Everything else is the standard variant.
// hil_port.c holds the glue; mpconfigvariant.mk says how it is wired in.

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#include "../mpconfigvariant_common.h"

// os.dupterm with two slots, as ESP8266; no dupterm_notify (it needs a bare-metal stdin ring buffer).
#define MICROPY_PY_OS_DUPTERM (2)
#define MICROPY_PY_OS_DUPTERM_NOTIFY (0)
#define MICROPY_PY_WEBREPL (1)
#define MICROPY_PY_WEBREPL_DELAY (0)

// lwIP runs only when MicroPython yields (waits, polls, sleeps, reads stdin): the ESP8266 model.
void hil_lwip_poll(void);
#define MICROPY_INTERNAL_EVENT_HOOK hil_lwip_poll()
// MICROPY_PY_LWIP_ENTER/EXIT stay empty, as on ESP8266: no lwIP callback can preempt Python.

// Text output ends lines with \r\n, as a board's shared/runtime/stdout_helpers.c sends it.
#define MICROPY_HIL_COOKED_STDOUT (1)

// select.poll as on a board: every object polled through its ioctl, lwIP serviced between rounds.
#undef MICROPY_PY_SELECT_POSIX_OPTIMISATIONS
#define MICROPY_PY_SELECT_POSIX_OPTIMISATIONS (0)
