"""Which files a test opens on the board: those beside it that its code names."""

from __future__ import annotations

from esp_hil.boardfiles import named_files

SOURCE = '''
certfile = "ec_cert.der"
keyfile = "ec_key.der"
gone = "missing.der"
other = "tcp_data.py"
note = "sub/dir.der"
'''


def test_the_files_beside_the_test_that_its_code_names(tmp_path):
    for name in ("ec_cert.der", "ec_key.der", "rsa_cert.der", "tcp_data.py", "tcp_data.py.exp"):
        (tmp_path / name).write_bytes(b"x")
    assert named_files(SOURCE, tmp_path) == [tmp_path / "ec_cert.der", tmp_path / "ec_key.der"]
    assert named_files("def broken(:\n", tmp_path) == []
