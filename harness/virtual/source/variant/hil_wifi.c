// esp-hil: the board's Wi-Fi station. Its radio is the TAP link, its access point the rack's.
//
// The link (hil_port.c) is down until the station has joined the access point whose
// SSID and password the rack gives in HIL_AP_SSID / HIL_AP_PASSWORD: lwIP then passes
// no frame either way. Joining takes a while, and how it looks while it does depends on
// the chip (HIL_RADIO_CHIP), as on a board:
//
// - ESP32 (ports/esp32/network_wlan.c) retries until it joins, and status() reports the
//   last disconnect reason meanwhile: the first scan of each connect() misses the AP,
//   so NO_AP_FOUND shows for a moment before GOT_IP.
// - ESP8266 reports CONNECTING, and its SDK saves the station config in flash: after a
//   hard reset it joins again by itself a moment after boot.
//
// What survives what lives in HIL_RADIO (a folder of the rack's): `joined` is the Wi-Fi
// driver's state, which a soft reset keeps (it lives outside MicroPython's heap) and a
// chip reset loses (the rack deletes it); `sta-config` is the ESP8266's flash sector.
//
// Scheduling is the port's: the station moves on only when lwIP is serviced (hil_wifi_poll()).

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py/runtime.h"
#include "py/mphal.h"

#include "hil_port.h"

#define SSID_MAX (32)
#define KEY_MAX (64)
#define FIRST_SCAN_MISS_MS (400)  // ESP32: the first scan of a connect() misses the AP
#define ASSOCIATE_MS (300)        // ESP8266: association and DHCP
#define AUTO_CONNECT_MS (700)     // ESP8266: from boot until the saved config has joined
#define RETRY_MS (500)            // a failed attempt is tried again, for ever, as both ports do

// What the station says: network.py turns these into the chip's STAT_* numbers.
enum { ST_IDLE, ST_CONNECTING, ST_WRONG_PASSWORD, ST_NO_AP_FOUND, ST_GOT_IP };

static struct {
    bool esp8266;
    bool active;
    bool requested;  // connect() asked; the driver retries until disconnect()
    bool joined;
    int reason;      // what status() says while not joined
    uint32_t due;    // when the attempt under way ends
    char ssid[SSID_MAX + 1];
    char key[KEY_MAX + 1];
} sta;

// ---- the radio's files ----------------------------------------------------------

static const char *radio_file(const char *name, char *buf, size_t len) {
    const char *dir = getenv("HIL_RADIO");
    if (dir == NULL || (size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
        return NULL;
    }
    return buf;
}

// One line of `f` into `out` (`size` bytes with its NUL), without its newline.
static void read_line(FILE *f, char *out, size_t size) {
    char line[KEY_MAX + 2];
    size_t n = fgets(line, sizeof(line), f) ? strcspn(line, "\n") : 0;
    n = MIN(n, size - 1);
    memcpy(out, line, n);
    out[n] = '\0';
}

// Two lines: SSID and key.
static bool read_lines(const char *name, char *ssid, char *key) {
    char path[512];
    FILE *f = radio_file(name, path, sizeof(path)) ? fopen(path, "r") : NULL;
    if (f == NULL) {
        return false;
    }
    read_line(f, ssid, SSID_MAX + 1);
    read_line(f, key, KEY_MAX + 1);
    fclose(f);
    return true;
}

static void write_lines(const char *name, const char *ssid, const char *key) {
    char path[512];
    FILE *f = radio_file(name, path, sizeof(path)) ? fopen(path, "w") : NULL;
    if (f != NULL) {
        fprintf(f, "%s\n%s\n", ssid, key);
        fclose(f);
    }
}

static void remove_file(const char *name) {
    char path[512];
    if (radio_file(name, path, sizeof(path))) {
        remove(path);
    }
}

// ---- the station ------------------------------------------------------------------

static const char *env_or_empty(const char *name) {
    const char *value = getenv(name);
    return value ? value : "";
}

static void set_joined(bool joined) {
    sta.joined = joined;
    hil_link(joined);
    if (joined) {
        sta.reason = ST_IDLE;
        write_lines("joined", sta.ssid, "");  // the driver's RAM: no key needed to stay joined
    } else {
        remove_file("joined");
    }
}

static void attempt(uint32_t after_ms, int reason_meanwhile) {
    sta.requested = true;
    sta.reason = reason_meanwhile;
    sta.due = mp_hal_ticks_ms() + after_ms;
}

void hil_wifi_boot(void) {
    sta.esp8266 = strcmp(env_or_empty("HIL_RADIO_CHIP"), "esp8266") == 0;
    char unused[KEY_MAX + 1];
    if (read_lines("joined", sta.ssid, unused)) {  // a soft reset: the driver stayed joined
        sta.active = sta.requested = true;
        set_joined(true);
    } else if (sta.esp8266 && read_lines("sta-config", sta.ssid, sta.key)) {
        sta.active = true;  // the SDK's saved config: it joins by itself
        attempt(AUTO_CONNECT_MS, ST_CONNECTING);
    }
}

void hil_wifi_poll(void) {
    if (!sta.requested || sta.joined || (int32_t)(mp_hal_ticks_ms() - sta.due) < 0) {
        return;
    }
    if (strcmp(sta.ssid, env_or_empty("HIL_AP_SSID")) != 0) {
        attempt(RETRY_MS, ST_NO_AP_FOUND);
    } else if (strcmp(sta.key, env_or_empty("HIL_AP_PASSWORD")) != 0) {
        attempt(RETRY_MS, ST_WRONG_PASSWORD);
    } else {
        set_joined(true);
    }
}

static void leave(void) {
    sta.requested = false;
    sta.reason = ST_IDLE;
    if (sta.joined) {
        set_joined(false);
    }
}

// ---- _hilwifi: what network.py's WLAN calls --------------------------------------

static mp_obj_t hilwifi_active(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        sta.active = mp_obj_is_true(args[0]);
        if (!sta.active) {
            leave();
        }
    }
    return mp_obj_new_bool(sta.active);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(hilwifi_active_obj, 0, 1, hilwifi_active);

static mp_obj_t hilwifi_connect(mp_obj_t ssid_in, mp_obj_t key_in) {
    if (!sta.active) {
        mp_raise_msg(&mp_type_OSError, sta.esp8266 ? MP_ERROR_TEXT("Cannot connect to AP")
            : MP_ERROR_TEXT("Wifi Not Started"));
    }
    leave();
    snprintf(sta.ssid, sizeof(sta.ssid), "%s", mp_obj_str_get_str(ssid_in));
    snprintf(sta.key, sizeof(sta.key), "%s", key_in == mp_const_none ? "" : mp_obj_str_get_str(key_in));
    if (sta.esp8266) {
        write_lines("sta-config", sta.ssid, sta.key);
        attempt(ASSOCIATE_MS, ST_CONNECTING);
    } else {
        attempt(FIRST_SCAN_MISS_MS, ST_NO_AP_FOUND);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(hilwifi_connect_obj, hilwifi_connect);

static mp_obj_t hilwifi_disconnect(void) {
    leave();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(hilwifi_disconnect_obj, hilwifi_disconnect);

static mp_obj_t hilwifi_status(void) {
    hil_wifi_poll();
    return MP_OBJ_NEW_SMALL_INT(sta.joined ? ST_GOT_IP : sta.reason);
}
static MP_DEFINE_CONST_FUN_OBJ_0(hilwifi_status_obj, hilwifi_status);

static mp_obj_t hilwifi_essid(void) {
    return mp_obj_new_str_from_cstr(sta.ssid);
}
static MP_DEFINE_CONST_FUN_OBJ_0(hilwifi_essid_obj, hilwifi_essid);

static const mp_rom_map_elem_t hilwifi_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__hilwifi) },
    { MP_ROM_QSTR(MP_QSTR_active), MP_ROM_PTR(&hilwifi_active_obj) },
    { MP_ROM_QSTR(MP_QSTR_connect), MP_ROM_PTR(&hilwifi_connect_obj) },
    { MP_ROM_QSTR(MP_QSTR_disconnect), MP_ROM_PTR(&hilwifi_disconnect_obj) },
    { MP_ROM_QSTR(MP_QSTR_status), MP_ROM_PTR(&hilwifi_status_obj) },
    { MP_ROM_QSTR(MP_QSTR_essid), MP_ROM_PTR(&hilwifi_essid_obj) },
};
static MP_DEFINE_CONST_DICT(hilwifi_globals, hilwifi_globals_table);

const mp_obj_module_t mp_module_hilwifi = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&hilwifi_globals,
};

MP_REGISTER_MODULE(MP_QSTR__hilwifi, mp_module_hilwifi);
