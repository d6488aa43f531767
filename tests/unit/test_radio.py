"""The rack's virtual access point and a source-built board's radio files (esp_hil.virtual.radio)."""

from __future__ import annotations

from esp_hil.virtual import radio


def test_a_run_without_a_lab_network_gets_the_racks_own_access_point():
    env: dict[str, str] = {}
    radio.supply_defaults(env)
    assert env == {"HIL_WIFI_SSID": radio.DEFAULT_SSID, "HIL_WIFI_PASSWORD": radio.DEFAULT_PASSWORD}
    assert radio.access_point(env) == (radio.DEFAULT_SSID, radio.DEFAULT_PASSWORD)
    assert radio.access_point({}) == radio.access_point(env), "the rack and the join agree without the plugin too"


def test_the_labs_network_is_the_access_point_when_named():
    env = {"HIL_WIFI_SSID": "lab", "HIL_WIFI_PASSWORD": "lab-key-1"}
    radio.supply_defaults(env)
    assert env == {"HIL_WIFI_SSID": "lab", "HIL_WIFI_PASSWORD": "lab-key-1"}
    assert radio.access_point(env) == ("lab", "lab-key-1")
    assert radio.access_point({"HIL_WIFI_SSID": "open-lab"}) == ("open-lab", ""), "no password: an open network"


def test_a_chip_reset_loses_the_drivers_state_and_keeps_the_saved_config(tmp_path):
    r = radio.Radio("esp8266", tmp_path / "radio")
    (r.folder / radio.JOINED).write_text("lab\n\n")
    (r.folder / "sta-config").write_text("lab\nlab-key-1\n")
    r.chip_reset()
    assert not (r.folder / radio.JOINED).exists()
    assert (r.folder / "sta-config").exists()
    assert r.env()["HIL_RADIO_CHIP"] == "esp8266" and r.env()["HIL_RADIO"] == str(r.folder)
