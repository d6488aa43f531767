# esp-hil: the firmware's network code in a unix-port build (see mpconfigvariant.h).
#
# Nothing here edits a file of the MicroPython tree. Where the unix port's own
# code stands in the way, one object is compiled with a name changed (-D), and
# hil_port.c supplies the bare-metal version under the original name.

FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py

# lwIP's raw API through extmod/modlwip.c is the socket module; the host's sockets are not built.
MICROPY_PY_SOCKET = 0
MICROPY_PY_LWIP = 1
INC += -I$(VARIANT_DIR)

# webrepl.py needs hashlib.sha1, which the unix port has only with a TLS library: axTLS, in the tree.
MICROPY_PY_SSL = 1
MICROPY_SSL_AXTLS = 1
MICROPY_SSL_MBEDTLS = 0

# Features whose submodules a unix build would otherwise need; a board has none of them either.
MICROPY_PY_BTREE = 0
MICROPY_PY_FFI = 0
MICROPY_VFS_LFS1 = 0
MICROPY_VFS_LFS2 = 0
# One thread, as on ESP8266.
MICROPY_PY_THREAD = 0

# Firmware ports build without -Wextra; these files (and lwIP) do not build warning-free with it.
$(BUILD)/extmod/modlwip.o: CFLAGS += -Wno-sign-compare -DSOMAXCONN=2
$(BUILD)/extmod/modwebrepl.o: CFLAGS += -Wno-sign-compare
$(BUILD)/lib/lwip/%.o: CFLAGS += -Wno-error

# Input the bare-metal way: stdin and dupterm polled together, lwIP serviced while waiting.
$(BUILD)/unix_mphal.o: CFLAGS += -Dmp_hal_stdin_rx_chr=unix_hal_stdin_rx_chr \
	-Dmp_hal_set_interrupt_char=unix_hal_set_interrupt_char \
	-Dmp_hal_stdout_tx_strn_cooked=unix_hal_stdout_tx_strn_cooked
# sys.stdin/stdout/stderr as on a board (shared/runtime/sys_stdio_mphal.c), not file descriptors.
SHARED_SRC_C_EXTRA += runtime/sys_stdio_mphal.c
$(BUILD)/extmod/vfs_posix_file.o: CFLAGS += -Dmp_sys_stdin_obj=unix_sys_stdin_obj \
	-Dmp_sys_stdout_obj=unix_sys_stdout_obj -Dmp_sys_stderr_obj=unix_sys_stderr_obj \
	-Dmp_sys_stdin_buffer_obj=unix_sys_stdin_buffer_obj \
	-Dmp_sys_stdout_buffer_obj=unix_sys_stdout_buffer_obj \
	-Dmp_sys_stderr_buffer_obj=unix_sys_stderr_buffer_obj
$(BUILD)/shared/runtime/sys_stdio_mphal.o: CFLAGS += -Dunused=hil_stdio_poll -include $(VARIANT_DIR)/hil_port.h
# time.sleep() yields to lwIP, as mp_hal_delay_ms does on a board.
$(BUILD)/extmod/modtime.o: CFLAGS += -Dselect=hil_sleep_select -include $(VARIANT_DIR)/hil_port.h
