// esp-hil: the glue that makes the unix port a board with lwIP, dupterm and WebREPL.
//
// lwIP's Ethernet frames go through a TAP device that esp-hil opened in a network
// namespace of the board's own; its descriptor and the board's address come in the
// environment (HIL_TAP_FD, HIL_TAP_IP, HIL_TAP_NETMASK, HIL_TAP_GW, HIL_TAP_MAC).
// The link is the radio of the Wi-Fi station in hil_wifi.c: up only while it has joined.
//
// Scheduling is ESP8266's: lwIP runs only when MicroPython yields. Frames are
// taken in and lwIP's timers run in hil_lwip_poll(), which MicroPython calls from
// mp_event_wait_*/mp_event_handle_nowait (every wait of modlwip.c, select.poll,
// sleep_ms), from time.sleep() and while it waits for input. Nothing runs lwIP
// behind Python's back, so MICROPY_PY_LWIP_ENTER/EXIT stay empty as on ESP8266.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "extmod/misc.h"

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "hil_port.h"
#include "hil_build_id.h"  // written by esp-hil for each build

#define FRAME_MAX (1514)
#define POLL_IDLE_MS (10)

static int tap_fd = -1;
static struct netif tap_netif;
static bool in_poll;

// ---- lwIP's platform ----------------------------------------------------

u32_t sys_now(void) {
    return mp_hal_ticks_ms();
}

uint32_t hil_lwip_rand(void) {
    uint32_t r;
    mp_hal_get_random(sizeof(r), (uint8_t *)&r);
    return r;
}

// lwIP misuse that MicroPython itself is known to commit (esp-hil's docs/firmware-defects.md):
// reported on the console but not fatal, so the rest of a suite still runs on this tree.
// esp-hil's tests/hil/test_firmware_defects.py shows each one, as an expected failure.
static const char *const known_defects[] = {
    "invalid socket state for err callback",   // modlwip.c closing a listening socket
    "invalid socket state for recv callback",
};

void hil_lwip_assert(const char *msg, int line, const char *file) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(known_defects); ++i) {
        if (strcmp(msg, known_defects[i]) == 0) {
            fprintf(stderr, "\r\nlwIP assertion failed (known defect, not fatal): %s (%s:%d)\r\n", msg, file, line);
            return;
        }
    }
    fprintf(stderr, "\r\nlwIP assertion failed: %s (%s:%d)\r\n", msg, file, line);
    fflush(stderr);
    abort();
}

// modlwip.c's getaddrinfo asks extmod/modnetwork.c which IP version DNS prefers;
// this board has no `network` module in C, and only IPv4.
int mp_mod_network_prefer_dns_use_ip_version = 4;

// ---- the TAP link --------------------------------------------------------

static err_t tap_linkoutput(struct netif *netif, struct pbuf *p) {
    uint8_t frame[FRAME_MAX];
    if (p->tot_len > sizeof(frame)) {
        return ERR_BUF;
    }
    u16_t len = pbuf_copy_partial(p, frame, p->tot_len, 0);
    ssize_t n;
    do {
        n = write(tap_fd, frame, len);
    } while (n < 0 && errno == EINTR);
    return n == len ? ERR_OK : ERR_IF;
}

static err_t tap_netif_init(struct netif *netif) {
    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->mtu = 1500;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    netif->output = etharp_output;
    netif->linkoutput = tap_linkoutput;
    return ERR_OK;
}

static void env_ip(const char *name, ip4_addr_t *addr) {
    const char *value = getenv(name);
    if (value == NULL || !ip4addr_aton(value, addr)) {
        ip4_addr_set_zero(addr);
    }
}

static void env_mac(const char *name, uint8_t *mac) {
    const char *value = getenv(name);
    unsigned int b[6];
    if (value != NULL && sscanf(value, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6) {
        for (int i = 0; i < 6; ++i) {
            mac[i] = b[i];
        }
    } else {
        static const uint8_t fallback[6] = {0x02, 0x68, 0x69, 0x6c, 0x00, 0x02};
        memcpy(mac, fallback, 6);
    }
}

// Runs before main(): the interface exists before the first line of Python; its link is the
// Wi-Fi station's (hil_wifi.c), down until the station has joined the access point.
__attribute__((constructor)) static void tap_start(void) {
    const char *fd = getenv("HIL_TAP_FD");
    if (fd == NULL) {
        return;  // no link: sockets exist, but nothing routes
    }
    tap_fd = atoi(fd);
    fcntl(tap_fd, F_SETFL, fcntl(tap_fd, F_GETFL) | O_NONBLOCK);
    fcntl(tap_fd, F_SETFD, FD_CLOEXEC);
    lwip_init();
    ip4_addr_t ip, mask, gw;
    env_ip("HIL_TAP_IP", &ip);
    env_ip("HIL_TAP_NETMASK", &mask);
    env_ip("HIL_TAP_GW", &gw);
    env_mac("HIL_TAP_MAC", tap_netif.hwaddr);
    netif_add(&tap_netif, &ip, &mask, &gw, NULL, tap_netif_init, ethernet_input);
    netif_set_default(&tap_netif);
    netif_set_up(&tap_netif);
    hil_wifi_boot();
}

void hil_link(bool up) {
    if (tap_fd < 0) {
        return;
    }
    if (up) {
        netif_set_link_up(&tap_netif);
    } else {
        netif_set_link_down(&tap_netif);
    }
}

void hil_lwip_poll(void) {
    if (tap_fd < 0 || in_poll) {
        return;
    }
    in_poll = true;
    uint8_t frame[FRAME_MAX];
    for (;;) {
        ssize_t n = read(tap_fd, frame, sizeof(frame));
        if (n <= 0) {
            break;
        }
        if (!netif_is_link_up(&tap_netif)) {
            continue;  // no access point joined: the radio hears nothing
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, n, PBUF_POOL);
        if (p == NULL) {
            break;  // out of pbufs: the frame is dropped, as a board's driver drops it
        }
        pbuf_take(p, frame, n);
        if (tap_netif.input(p, &tap_netif) != ERR_OK) {
            pbuf_free(p);
        }
    }
    hil_wifi_poll();
    sys_check_timeouts();
    in_poll = false;
}

// Wait until `fd` is readable, the TAP has a frame, or `ms` passed (-1: no limit on this round).
static bool wait_readable(int fd, int ms) {
    fd_set r;
    FD_ZERO(&r);
    int nfds = 0;
    if (fd >= 0) {
        FD_SET(fd, &r);
        nfds = fd + 1;
    }
    if (tap_fd >= 0) {
        FD_SET(tap_fd, &r);
        nfds = MAX(nfds, tap_fd + 1);
    }
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    int n = select(nfds, &r, NULL, NULL, ms < 0 ? NULL : &tv);
    return n > 0 && fd >= 0 && FD_ISSET(fd, &r);
}

// ---- input, the bare-metal way ------------------------------------------

// Ctrl-C as a character, for input that comes through dupterm (WebREPL): os_dupterm.c reads it.
// (shared/runtime/interrupt_char.h declares it, with a prototype that clashes with the unix port's.)
int mp_interrupt_char = -1;

void unix_hal_set_interrupt_char(char c);

void mp_hal_set_interrupt_char(char c) {
    mp_interrupt_char = (c == (char)-1) ? -1 : (unsigned char)c;
    unix_hal_set_interrupt_char(c);
}

// As stm32 and rp2: the UART (stdin) and every dupterm stream are polled in turn,
// and while nothing has arrived the network and scheduled callbacks are serviced.
// A dupterm stream that raises or reaches EOF is detached by os_dupterm.c.
int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        if (wait_readable(STDIN_FILENO, 0)) {
            unsigned char c;
            ssize_t n;
            MP_HAL_RETRY_SYSCALL(n, read(STDIN_FILENO, &c, 1), {});
            if (n <= 0) {
                return CHAR_CTRL_D;
            }
            return c == '\n' ? '\r' : c;
        }
        int c = mp_os_dupterm_rx_chr();
        if (c >= 0) {
            return c;
        }
        mp_event_handle_nowait();
        wait_readable(STDIN_FILENO, POLL_IDLE_MS);
    }
}

uintptr_t hil_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && wait_readable(STDIN_FILENO, 0)) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret | mp_os_dupterm_poll(poll_flags);
}

int hil_sleep_select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout) {
    (void)nfds;
    (void)r;
    (void)w;
    (void)x;
    mp_uint_t ms = timeout->tv_sec * 1000 + timeout->tv_usec / 1000;
    mp_uint_t start = mp_hal_ticks_ms();
    for (;;) {
        hil_lwip_poll();
        mp_uint_t spent = mp_hal_ticks_ms() - start;
        if (spent >= ms) {
            timeout->tv_sec = 0;
            timeout->tv_usec = 0;
            return 0;
        }
        if (MP_STATE_MAIN_THREAD(mp_pending_exception) != MP_OBJ_NULL) {
            errno = EINTR;  // Ctrl-C: time.sleep() raises KeyboardInterrupt, as on a board
            return -1;
        }
        mp_uint_t left = ms - spent;
        wait_readable(-1, left < POLL_IDLE_MS ? left : POLL_IDLE_MS);
    }
}

// ---- output, as a board sends it ----------------------------------------

// shared/runtime/stdout_helpers.c on a board: text output ends lines with \r\n.
void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    const char *last = str;
    const char *end = str + len;
    for (const char *p = str; p < end; ++p) {
        if (*p == '\n') {
            if (p > last) {
                mp_hal_stdout_tx_strn(last, p - last);
            }
            mp_hal_stdout_tx_strn("\r\n", 2);
            last = p + 1;
        }
    }
    if (end > last) {
        mp_hal_stdout_tx_strn(last, end - last);
    }
}

// ---- _hilnet: where the board is, for the `network` module ---------------

static mp_obj_t hilnet_ifconfig(void) {
    char buf[4][IP4ADDR_STRLEN_MAX];
    const ip4_addr_t *addrs[4] = {
        netif_ip4_addr(&tap_netif), netif_ip4_netmask(&tap_netif), netif_ip4_gw(&tap_netif), netif_ip4_gw(&tap_netif),
    };
    mp_obj_t items[4];
    for (int i = 0; i < 4; ++i) {
        ip4addr_ntoa_r(addrs[i], buf[i], sizeof(buf[i]));
        items[i] = mp_obj_new_str(buf[i], strlen(buf[i]));
    }
    return mp_obj_new_tuple(4, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(hilnet_ifconfig_obj, hilnet_ifconfig);

static mp_obj_t hilnet_config(mp_obj_t key) {
    if (mp_obj_str_get_qstr(key) == MP_QSTR_mac) {
        return mp_obj_new_bytes(tap_netif.hwaddr, ETH_HWADDR_LEN);
    }
    mp_raise_ValueError(MP_ERROR_TEXT("unknown config param"));
}
static MP_DEFINE_CONST_FUN_OBJ_1(hilnet_config_obj, hilnet_config);

// What this firmware is: esp-hil's probe reports it beside every result.
static mp_obj_t hilnet_build(void) {
    mp_obj_t items[4] = {
        MP_OBJ_NEW_QSTR(MP_QSTR_lwip_raw), mp_obj_new_str_from_cstr(LWIP_VERSION_STRING),
        mp_obj_new_str_from_cstr(HIL_BUILD_COMMIT[0] ? HIL_BUILD_COMMIT : HIL_BUILD_TREE_ID),
        mp_obj_new_str_from_cstr(HIL_BUILD_MUTATION),
    };
    return mp_obj_new_tuple(4, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(hilnet_build_obj, hilnet_build);

static const mp_rom_map_elem_t hilnet_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_build), MP_ROM_PTR(&hilnet_build_obj) },
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__hilnet) },
    { MP_ROM_QSTR(MP_QSTR_ifconfig), MP_ROM_PTR(&hilnet_ifconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_config), MP_ROM_PTR(&hilnet_config_obj) },
};
static MP_DEFINE_CONST_DICT(hilnet_globals, hilnet_globals_table);

const mp_obj_module_t mp_module_hilnet = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&hilnet_globals,
};

MP_REGISTER_MODULE(MP_QSTR__hilnet, mp_module_hilnet);
