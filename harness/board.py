"""A session on one board: exec, background jobs, files, resets, capabilities, transcript.

Everything here goes through an mpremote transport (serial, or WebREPL), so a USB
board, a rack board over RFC 2217 and a virtual board share this code path.
"""

from __future__ import annotations

import ast
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from mpremote.transport import Transport, TransportError

from esp_hil import rawrepl
from esp_hil.capabilities import PROBE, Capabilities
from esp_hil.errors import BoardLost, BoardReset, BoardTimeout, HilError
from esp_hil.inventory import BoardSpec, PortServer
from esp_hil.port import BoardPort, PortKind
from esp_hil.sockets import SocketMaker, for_spec
from esp_hil.transcript import Transcript
from esp_hil.transport.serial import READ_TIMEOUT, PortTransport, RecordingSerial, Rfc2217Port, open_serial
from esp_hil.transport.waits import read_within

# What ESP boot ROMs print when flash holds no valid image (ESP32; ESP8266 at 74880 baud).
BREAK = b"\r\x03\x03"  # Ctrl-C twice: what runs stops, even a program that catches one KeyboardInterrupt
ESP8266_NO_IMAGE = b"ets_main.c"
NO_FIRMWARE = (b"invalid header:", ESP8266_NO_IMAGE)
# Boot ROMs that print at another baud than MicroPython's (the ESP8266's 26 MHz crystal): at the
# REPL's baud their lines are garbage, so a board with no firmware says nothing readable there.
ROM_BAUD = {"esp8266": 74880}


class DeviceError(Exception):
    """Code on the board raised; carries the board's own traceback."""

    def __init__(self, board_id: str, output: str, traceback: str):
        self.board_id = board_id
        self.output = output
        self.traceback = traceback
        last = traceback.strip().splitlines()[-1] if traceback.strip() else "error"
        super().__init__(f"board {board_id!r}: device raised {last}\n{traceback}")

    @property
    def exception_line(self) -> str:
        return self.traceback.strip().splitlines()[-1] if self.traceback.strip() else ""


def _open_port(spec: BoardSpec, transcript: Transcript) -> PortTransport:
    """The board's port, opened so that no DTR/RTS change reaches the chip.

    pyserial's RFC 2217 client sends DTR on, then RTS on, as it opens. Through ser2net
    (or on a local port) both on leaves EN and GPIO0 high. esptool's esp_rfc2217_server
    (which sets both on while a client is connected) runs its bootloader reset on DTR on,
    and holds EN low on DTR off, so there the port is opened without a DTR message; RTS
    on it drops. DTR is left off on this side: the next reset gesture sends it first.
    """
    if spec.port_server is not PortServer.ESP_RFC2217_SERVER:
        return open_serial(spec.url, spec.baud, transcript, spec.id)
    port = Rfc2217Port(None, baudrate=spec.baud, timeout=READ_TIMEOUT, dsrdtr=True)  # pyserial: no DTR at open
    port.dtr = False
    port.port = spec.url
    try:
        port.open()
    except (OSError, ValueError) as exc:
        raise HilError(f"cannot open {spec.url} (esp_rfc2217_server): {exc}", board=spec.id,
                       hint="check the rack host runs esp_rfc2217_server on that port and no other client holds it") from None
    port.dsrdtr = False  # only the open was to skip DTR; pyserial's RFC 2217 client sends no flow control for it
    return PortTransport(RecordingSerial(port, transcript), spec.url)


def _no_firmware(boot: bytes) -> bool:
    return any(marker in boot for marker in NO_FIRMWARE)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


class Board:
    """One open board. `exec`/`eval` run code in the raw REPL with an overall timeout."""

    def __init__(self, spec: BoardSpec, transport: Transport, transcript: Transcript):
        self.spec = spec
        self.transport = transport
        self.transcript = transcript
        self.ip: str | None = None       # where host peers reach the board (esp_hil.network)
        self.host_ip: str | None = None  # where the board reaches this host
        self.sockets: SocketMaker = for_spec(spec.peer_sockets)  # how this host makes sockets that reach it
        self._job: Job | None = None

    @classmethod
    def connect(cls, spec: BoardSpec) -> "Board":
        """The port open, nothing asked of the board yet (it may sit in its bootloader)."""
        transcript = Transcript(spec.id)
        transcript.note(f"open {spec.url}")
        return cls(spec, _open_port(spec, transcript), transcript)

    @classmethod
    def open(cls, spec: BoardSpec) -> "Board":
        """Connected and in the raw REPL; hard-reset first if the board does not answer."""
        board = cls.connect(spec)
        try:
            try:
                board._break_in(timeout=5)
            except BoardTimeout:
                if not spec.reset.wired:
                    raise
                board.hard_reset()  # says "no firmware" when the boot ROM finds no image
        except BaseException:
            board.close()  # the port is free for whoever comes next (the flasher, most often)
            raise
        return board

    def reopen(self, wait: float = 20.0) -> None:
        """Close and open the port again, waiting for a USB by-id path to come back first."""
        self.transcript.note(f"reopen {self.spec.url}")
        self.close()
        self._job = None
        self._forget_network()  # a port that went away may have taken a reset with it
        deadline = time.monotonic() + wait
        while True:  # a USB board re-enumerates after a reset or brown-out; a rack host may restart
            try:
                if not self._path_present():
                    raise HilError(f"port {self.spec.url} is gone", board=self.id)
                self.transport = _open_port(self.spec, self.transcript)
                break
            except HilError:
                if time.monotonic() > deadline:
                    raise HilError(f"port {self.spec.url} did not come back within {wait:.0f}s", board=self.id,
                                   hint="check the USB cable, hub power or the rack host") from None
                time.sleep(0.25)
        self._enter_raw(soft_reset=False)

    def _path_present(self) -> bool:
        """The port's device path is there (a URL that is no path always counts as there)."""
        return PortKind.of(self.spec.url) is not PortKind.DEVICE or Path(self.spec.url).exists()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def port(self) -> BoardPort:
        """The open port, every byte recorded (`port.unrecorded` for esptool's binary traffic)."""
        return self.transport.serial

    def close(self) -> None:
        try:
            if self.spec.port_server is PortServer.ESP_RFC2217_SERVER:
                self.port.close()  # mpremote's close sets RTS off (that server's hard reset), then DTR off
            else:
                self.transport.close()
        except (OSError, TransportError):
            pass

    # --- running code -------------------------------------------------------------

    def exec(self, code: str, timeout: float = 10.0) -> str:
        """Run `code`, return what it printed; raise DeviceError if it raised. `timeout` bounds it all."""
        deadline = time.monotonic() + timeout
        return self.start(code, timeout)._result(deadline, timeout)

    def eval(self, expression: str, timeout: float = 10.0) -> Any:
        """Evaluate `expression` on the board and return it as a Python value (via repr)."""
        out = self.exec(f"print(repr({expression}))", timeout)
        return ast.literal_eval(out.strip())

    def start(self, code: str, timeout: float = 10.0) -> "Job":
        """Start `code` and return at once; the job reads its output (lockstep with host peers).

        `timeout` bounds every wait until the board has taken the code: the raw REPL's
        prompt and mpremote's raw-paste steps, which have fixed timeouts of their own.
        """
        if self._job is not None and not self._job.done:
            raise HilError("a background job is still running; call its result() first", board=self.id)
        data = rawrepl.encode(code, self.id)
        try:
            with self.transport.within(timeout):
                prompt = self.transport.read_until(1, b">", timeout=None)
                self._raise_if_reset(prompt + self._waiting())  # after the prompt, only noise: it is dropped
                if not prompt.endswith(b">"):
                    raise self._timeout(f"no raw REPL prompt within {timeout}s")
                self.port.unread(b">")  # mpremote checks for the prompt itself
                self.transport.exec_raw_no_follow(data)
        except TransportError as exc:
            raise self._timeout(f"the raw REPL did not take the code within {timeout}s ({exc})") from None
        except OSError as exc:
            raise BoardLost(f"serial link lost: {exc}", board=self.id) from None
        self._job = Job(self)
        return self._job

    def _waiting(self) -> bytes:
        serial, data = self.port, b""
        while serial.in_waiting:
            data += serial.read(serial.in_waiting)
        return data

    def _raise_if_reset(self, received: bytes) -> None:
        line = rawrepl.reset_line(received)
        if line is not None:
            self._job = None
            self.transport.in_raw_repl = False
            self.transcript.note(f"reset: {line}")
            self._forget_network_if_chip_reset(line)
            raise BoardReset(line, board=self.id)

    # --- files ----------------------------------------------------------------------

    def put(self, local: Path | str, remote: str) -> None:
        self.transcript.note(f"put {local} -> :{remote}")
        self.transport.fs_writefile(remote, Path(local).read_bytes())

    def get(self, remote: str, local: Path | str) -> None:
        self.transcript.note(f"get :{remote} -> {local}")
        Path(local).write_bytes(self.transport.fs_readfile(remote))

    def write_file(self, remote: str, data: bytes) -> None:
        self.transport.fs_writefile(remote, data)

    def read_file(self, remote: str) -> bytes:
        return self.transport.fs_readfile(remote)

    # --- resets ---------------------------------------------------------------------

    def soft_reset(self, timeout: float = 10.0) -> None:
        """Ctrl-D at the raw REPL: the interpreter restarts, the board stays in raw mode."""
        self.transcript.note("soft reset")
        self._job = None
        self._enter_raw(soft_reset=True, timeout=timeout)

    def interrupt(self, timeout: float = 10.0) -> None:
        """Ctrl-C whatever runs and get the raw REPL prompt back.

        Also how a session resynchronises after another one (WebREPL beside the UART)
        has been talking to the same REPL: output still on its way is read off until
        the line is quiet, so it cannot pass for a reply to what comes next.
        """
        self.transcript.note("interrupt")
        self._job = None
        with self.transport.within(timeout):
            self.port.write(BREAK)
            self._drain(limit=timeout / 2)  # the raw REPL's entry keeps the other half, on a loaded host too
            self._enter_raw(soft_reset=False, timeout=timeout)

    def _drain(self, quiet: float = 0.25, limit: float = 3.0) -> None:
        serial = self.port
        start = last = time.monotonic()
        drained = b""
        try:
            while time.monotonic() - last < quiet and time.monotonic() - start < limit:
                if serial.in_waiting:
                    drained += serial.read(serial.in_waiting)
                    self._forget_network_if_chip_reset(rawrepl.reset_line(drained))  # what ran ended in a panic
                    last = time.monotonic()
                else:
                    time.sleep(0.02)
        except OSError as exc:
            raise BoardLost(f"serial link lost: {exc}", board=self.id, hint="the recovery ladder reopens the port") from None

    def hard_reset(self, timeout: float = 10.0) -> str:
        """Restart the board by its reset method (`esp_hil.reset`), wait for the REPL; return the boot log."""
        self.transcript.note(f"hard reset ({self.spec.reset})")
        self.spec.reset.hard_reset(self.port, self.id)
        return self.after_reset(timeout)

    def after_reset(self, timeout: float = 10.0) -> str:
        """The board was just reset (by us or by esptool): read its boot log up to the REPL.

        A board on its own USB (usb-jtag, usb-cdc) drops off the bus during the reset:
        its handle is dead, so the port is closed and opened again once its path is back
        (the boot log went by meanwhile, and "" is returned).
        """
        if not self.spec.reset.re_enumerates:
            return self.await_boot(timeout)
        self.close()
        gone = time.monotonic() + 1.0  # USB drops the device within milliseconds of the reset
        while PortKind.of(self.spec.url) is PortKind.DEVICE and self._path_present() and time.monotonic() < gone:
            time.sleep(0.02)
        self.__dict__.pop("capabilities", None)
        self.reopen(wait=timeout)
        return ""

    def await_boot(self, timeout: float = 10.0, first_byte: float = 3.0) -> str:
        """Read a boot log up to the REPL and enter the raw REPL; return the log.

        `first_byte` is how long the board may stay silent at first: a person tapping
        RESET on a board without reset wiring needs longer than a reset line does.
        """
        self._job = None
        self.__dict__.pop("capabilities", None)
        self._forget_network()
        with self.transport.within(timeout):
            boot = self._boot_log(first_byte)
        self.transport.in_raw_repl = False
        if boot.endswith(b">>> "):
            self._enter_raw(soft_reset=False)
            return _text(boot)
        if not _no_firmware(boot):
            try:
                self._break_in(timeout=3)  # a program run at boot (a leftover main.py) holds the prompt back
            except BoardTimeout:
                pass
            else:
                self.transcript.note("no prompt after the boot log: interrupted what ran at boot (a main.py?)")
                return _text(boot)
        if _no_firmware(boot) or _no_firmware(self._rom_boot_log()):
            raise HilError("no firmware: the boot ROM found no valid image in flash", board=self.id,
                           hint=f"flash firmware: hil flash --board {self.id} --firmware NAME")
        raise self._timeout("no REPL prompt after hard reset, nor after Ctrl-C (the board is wedged)")

    def _boot_log(self, first_byte: float) -> bytes:
        """A boot log up to the REPL's prompt, or up to the boot ROM's line that says it found no image.

        Line by line: a ROM with no image may say so again and again (a real ESP32 does),
        and what follows is no prompt. A boot log has pauses (second-stage bootloader,
        PSRAM test) but not 3 s of silence.
        """
        boot, ends = b"", (b"\n", b">>> ")
        while not boot.endswith(b">>> ") and not _no_firmware(boot):
            line = self.transport.read_until(1, ends, timeout=3 if boot else first_byte)
            boot += line
            if not line.endswith(ends):
                break  # quiet, or the deadline
        return boot

    def _rom_boot_log(self) -> bytes:
        """What the boot ROM says after one more reset, read at its own baud (b"" when that is the REPL's)."""
        baud = ROM_BAUD.get(self.spec.chip, self.spec.baud)
        if baud == self.spec.baud or not self.spec.reset.wired or self.spec.reset.re_enumerates:
            return b""
        self.transcript.note(f"hard reset, the boot ROM read at {baud} baud")
        port = self.port
        port.baudrate = baud
        try:
            self.spec.reset.hard_reset(port, self.id)
            # up to its no-image line, or until quiet (a firmware that boots goes on at 115200: garbage here)
            return self.transport.read_until(1, ESP8266_NO_IMAGE, timeout=1, timeout_overall=3)
        finally:
            port.baudrate = self.spec.baud

    def _forget_network_if_chip_reset(self, reset_line: str | None) -> None:
        """A reset the board reported by itself (a panic's `Rebooting...`, the ROM, the banner) is a chip reset,
        as a hard reset is; MicroPython's soft reboot is not."""
        if reset_line is not None and reset_line != rawrepl.SOFT_REBOOT:
            self._forget_network()

    def _forget_network(self) -> None:
        """After a reset the chip's network is not what it was (an ESP32 comes up with Wi-Fi off):
        the next `esp_hil.network.attach_network` joins again instead of trusting an old address."""
        self.ip = self.host_ip = None

    def _break_in(self, timeout: float) -> None:
        """Into the raw REPL from whatever runs: Ctrl-C twice first (a program that catches one
        KeyboardInterrupt gets another), then mpremote's own Ctrl-C and Ctrl-A."""
        self.port.write(BREAK)
        self._enter_raw(soft_reset=False, timeout=timeout)

    def _enter_raw(self, soft_reset: bool, timeout: float = 10.0) -> None:
        """The raw REPL within `timeout` overall (mpremote gives each of its up to three waits all of it)."""
        try:
            with self.transport.within(timeout):
                self.transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout)
        except TransportError:
            raise self._timeout("no raw REPL (is MicroPython running? is another program on the port?)") from None
        except OSError as exc:  # pyserial's SerialException is one
            raise BoardLost(f"serial link lost: {exc}", board=self.id, hint="the recovery ladder reopens the port") from None

    # --- what the board is ------------------------------------------------------------

    @cached_property
    def capabilities(self) -> Capabilities:
        return Capabilities.from_probe(ast.literal_eval(self.exec(PROBE).strip()))

    @property
    def probed(self) -> Capabilities | None:
        """The capabilities if probed since the last reset that forgot them; None without asking the board."""
        return self.__dict__.get("capabilities")

    def errno(self, name: str) -> int:
        """The board's own errno number for `name` (ESP8266 and ESP32 differ)."""
        return self.capabilities.errno[name]

    def _timeout(self, what: str) -> BoardTimeout:
        self.transcript.note(f"timeout: {what}")
        return BoardTimeout(what, board=self.id, tail=self.transcript.tail())


class Job:
    """Device code started with `Board.start`: wait for markers, then its result."""

    def __init__(self, board: Board):
        self._board = board
        self._out = bytearray()  # all the board sent after OK; once done, the program's output
        self._err = bytearray()
        self._stage = 0  # 0: running, 2: done (the raw REPL's ending seen, and certain: esp_hil.rawrepl)
        self._scanned = 0  # _out up to here is whole lines, none saying the board reset
        self._ended_at: float | None = None  # when an ending arrived that only silence can confirm
        self.done = False

    @property
    def output(self) -> str:
        return _text(bytes(self._out))

    @property
    def raw_output(self) -> bytes:
        """What the code printed so far, as the board sent it (a line protocol decodes it its own way).

        While the code runs, up to the raw REPL's first end marker: what follows it is
        the traceback, or the end itself.
        """
        if self._stage == 2:
            return bytes(self._out)
        at = self._out.find(b"\x04")
        return bytes(self._out if at < 0 else self._out[:at])

    @property
    def stdout_ended(self) -> bool:
        """The code has stopped printing; its traceback, if any, follows (`result()` reads it)."""
        return self._stage > 0 or b"\x04" in self._out

    def send(self, data: bytes) -> None:
        """Bytes to the running code's stdin (`sys.stdin.read()` on the board): a lockstep signal."""
        self._board.port.write(data)

    def read_for(self, seconds: float) -> str:
        """Read whatever the code prints for `seconds`, without interrupting it."""
        deadline = time.monotonic() + seconds
        while self._stage == 0 and self._read(deadline):
            pass
        return self.output

    def wait_for(self, marker: str, timeout: float = 10.0) -> str:
        """Read until the device has printed a whole line holding `marker`; return its output so far.

        The whole line: what follows the marker on it (a count, an errno) comes at the
        line's pace, and a test that parses it must not see half of it.
        """
        wanted = marker.encode()
        deadline = time.monotonic() + timeout
        while not self._has_line(wanted):
            if self._stage > 0:
                self.result(timeout=max(0.1, deadline - time.monotonic()))
                raise HilError(f"device code ended before printing {marker!r}; output: {self.output!r}",
                               board=self._board.id)
            if not self._read(deadline):
                raise self._interrupt(f"device did not print {marker!r} within {timeout}s")
        return self.output

    def _has_line(self, wanted: bytes) -> bool:
        at = self._out.find(wanted)
        return at >= 0 and b"\n" in self._out[at:]

    def result(self, timeout: float = 10.0) -> str:
        """Wait for the code to finish; its stdout, or DeviceError with its traceback."""
        return self._result(time.monotonic() + timeout, timeout)

    def _result(self, deadline: float, timeout: float) -> str:
        """`result` by a deadline set earlier (`Board.exec`'s, which its start shares); `timeout` names it."""
        while self._stage < 2:
            if not self._read(deadline):
                raise self._interrupt(f"device code did not finish within {timeout}s")
        self.done = True
        if self._err:
            raise DeviceError(self._board.id, self.output, _text(bytes(self._err)))
        return self.output

    def _read(self, deadline: float) -> bool:
        """Read what comes (waiting for it, not polling); False once the deadline has passed."""
        port = self._board.port
        while (until := deadline) > time.monotonic():
            if self._ended_at is not None:  # an ending that silence confirms: wait no longer than that
                until = min(until, self._ended_at + rawrepl.QUIET)
            try:
                data = read_within(port, 4096, until - time.monotonic())
            except OSError as exc:  # pyserial's SerialException is one
                self.done = True
                raise BoardLost(f"serial link lost: {exc}", board=self._board.id) from None
            if data:
                self._consume(data, more=port.in_waiting > 0)
                return True
            if self._ended_at is not None and time.monotonic() - self._ended_at >= rawrepl.QUIET:
                self._finish()
                return True
        return False

    def _consume(self, data: bytes, more: bool) -> None:
        """Take what arrived: a reset line ends the job at once; an ending ends it once certain."""
        self._out += data
        lines_end = self._out.rfind(b"\n") + 1
        if lines_end > self._scanned:
            lines, self._scanned = bytes(self._out[self._scanned:lines_end]), lines_end
            if rawrepl.reset_line(lines) is not None:
                self.done = True
                self._board._raise_if_reset(lines)
        self._ended_at = None
        if more or not self._out.endswith(rawrepl.END) or rawrepl.ending(bytes(self._out)) is None:
            return
        if rawrepl.certain(bytes(self._out)):
            self._finish()
        else:
            self._ended_at = time.monotonic()

    def _finish(self) -> None:
        out, err = rawrepl.ending(bytes(self._out))
        self._out, self._err, self._stage = bytearray(out), bytearray(err), 2
        self._board.port.unread(b">")  # the prompt stays for the next start()

    def _interrupt(self, what: str) -> BoardTimeout:
        """Ctrl-C the running code and give the raw REPL back; then report the timeout."""
        board = self._board
        board.transcript.note(f"interrupt: {what}")
        board.port.write(b"\x03")
        tail_deadline = time.monotonic() + 3.0
        while self._stage < 2 and self._read(tail_deadline):
            pass
        self.done = True
        return board._timeout(f"{what}; interrupted with Ctrl-C")
