"""Boards held through labgrid places: acquire a place, hand back its RFC 2217 URL, release it.

A rack of several hosts shares its boards through labgrid (a coordinator, one exporter
per rack host, a *place* per board). An inventory entry names the place instead of a
port (``port = "labgrid://PLACE"``, or ``labgrid://PLACE/RESOURCE`` when the place has
several serial ports); the harness acquires the place through labgrid's own client API,
reads the place's ``NetworkSerialPort`` (an exporter's ser2net, or esptool's
``esp_rfc2217_server``) and runs on ``rfc2217://host:port``, like any rack board.

A labgrid place stays acquired until someone releases it: the coordinator does not tie
it to the client's connection. So each hold is also marked by a local lease (a flock,
which dies with its process): ``release_stale`` releases a place only when no live
process on this host holds it, and a crashed run's place can be cleared with
``hil labgrid release PLACE``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

from esp_hil.errors import BoardBusy, HilError
from esp_hil.lease import Holder, Lease, holder_of
from esp_hil.port import PortKind

SCHEME = PortKind.LABGRID.value
DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's own default (LG_COORDINATOR overrides)
INSTALL_HINT = ("pip install 'esp-hil[labgrid]', then pip install --force-reinstall --no-deps pyserial-labgrid: "
                "esptool and mpremote pull plain pyserial, which overwrites labgrid's fork of one 'serial' package")
SESSION_BUDGET = 30.0  # a coordinator that accepts but never answers must not hang the run
POLL = 0.5
T = TypeVar("T")


class SerialPackageWarning(UserWarning):
    """labgrid is installed but plain pyserial's files sit where its fork's should be."""


def serial_package_problem() -> str | None:
    """One line when labgrid wants pyserial-labgrid but the `serial` package on disk is plain pyserial.

    Both distributions install the same `serial` package; whichever was installed last
    wins, and `pip check` is satisfied either way. The fork's version has a fourth part
    (3.5.0.2); its RFC 2217 fixes (no re-sent settings, a cheap timeout change) matter to
    labgrid's own console and to ser2net links.
    """
    try:
        wants_fork = any(r.replace("_", "-").startswith("pyserial-labgrid") for r in metadata.requires("labgrid") or [])
    except metadata.PackageNotFoundError:
        return None
    import serial

    version = getattr(serial, "__version__", "?")
    if not wants_fork or version.count(".") >= 3:
        return None
    return (f"labgrid needs pyserial-labgrid, but the 'serial' package installed is plain pyserial {version} "
            "(installed after labgrid, e.g. by esptool or mpremote); fix: "
            "pip install --force-reinstall --no-deps pyserial-labgrid")


_problem = serial_package_problem()
if _problem:
    warnings.warn(_problem, SerialPackageWarning, stacklevel=2)


def coordinator_address(coordinator: str | None = None) -> str:
    """The coordinator as labgrid's client finds it: the argument, LG_COORDINATOR, or 127.0.0.1:20408."""
    return coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


def from_url(url: str, coordinator: str | None = None) -> "LabgridPlace":
    """The place an inventory port names: ``labgrid://PLACE`` or ``labgrid://PLACE/RESOURCE``."""
    rest = url[len(SCHEME):] if PortKind.of(url) is PortKind.LABGRID else ""
    place, _, resource = rest.partition("/")
    if not place:
        raise HilError(f"bad labgrid port {url!r}", hint="write port = \"labgrid://PLACE\"")
    return LabgridPlace(place, coordinator, resource=resource or None)


@dataclass(frozen=True)
class PlaceInfo:
    """What `hil labgrid show` prints: who holds the place and its serial ports."""

    name: str
    coordinator: str
    holder: str | None
    local_holder: Holder | None
    serial_ports: list[str]


class LabgridPlace:
    """One labgrid place held by this process: `acquire()` gives the board's pyserial URL.

    Use it as a context manager, or call `release()` in a `finally`: the coordinator keeps
    the place acquired after this process exits.
    """

    def __init__(self, place: str, coordinator: str | None = None, *, resource: str | None = None):
        self.place = place
        self.coordinator = coordinator_address(coordinator)
        self.resource = resource
        self.url: str | None = None
        self.holder: str | None = None  # "host/user" as the coordinator records it, while held
        self._lease: Lease | None = None

    def __repr__(self) -> str:
        return f"LabgridPlace({self.place!r}, {self.coordinator!r})"

    def acquire(self, timeout: float = 60) -> str:
        """Hold the place, waiting up to `timeout` s while another user does; its serial port's URL."""
        if self.url:
            return self.url
        deadline = time.monotonic() + timeout
        key = lease_key(self.place, self.coordinator)
        try:
            self._lease = Lease.acquire(f"labgrid place {self.place}", wait=timeout, key=key)
        except HilError:
            raise BoardBusy(f"labgrid place {self.place!r} is held by {holder_of(key) or Holder()} "
                           f"for more than {timeout:.0f}s", hint="wait for that run to end") from None
        gave_up = threading.Event()  # Ctrl-C or a hung coordinator: labgrid's thread must not take it later
        try:
            while True:  # one short session per attempt: labgrid's thread is never blocked by a wait
                held, result = _with_session(self.coordinator, lambda s: self._try(s, gave_up))
                if not held:
                    self.url, self.holder = result
                    return self.url
                if time.monotonic() >= deadline:
                    raise BoardBusy(f"labgrid place {self.place!r} is held by {result} for more than {timeout:.0f}s",
                                   hint=f"wait for that run to end; if it crashed: hil labgrid release {self.place}")
                time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
        except BaseException:
            gave_up.set()
            self._drop_lease()
            raise

    def release(self) -> None:
        """Give the place back (only if this object still holds it); safe to call twice."""
        holder, self.holder, self.url = self.holder, None, None
        self._drop_lease()  # first: a release_stale racing us then finds the place ours to drop anyway
        if holder:
            _with_session(self.coordinator, lambda s: _release(s, self.place, fromuser=holder))

    def __enter__(self) -> "LabgridPlace":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _drop_lease(self) -> None:
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def _try(self, session: Any, gave_up: threading.Event) -> tuple[bool, Any]:
        """One attempt: (False, (url, holder)) when acquired, (True, who) while another holds it."""
        pb, grpc = _pb(), _grpc()
        place = _place(session, self.place, self.coordinator)
        try:
            _run(session, session.stub.AcquirePlace(pb.AcquirePlaceRequest(placename=place.name)))
        except grpc.aio.AioRpcError as exc:
            _run(session, session.sync_with_coordinator())
            holder = session.places[place.name].acquired if place.name in session.places else None
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and holder:
                return True, holder
            raise HilError(f"labgrid place {place.name!r}: {exc.details()}",
                           hint=f"see hil labgrid show {place.name}") from None
        me = _identity(session)
        try:
            _run(session, session.sync_with_coordinator())
            url = _serial_url(session, session.places[place.name], self.resource)
            if gave_up.is_set():
                raise HilError(f"labgrid place {place.name!r}: acquire abandoned")
            return False, (url, me)
        except BaseException:
            _release(session, place.name, fromuser=me)
            raise


def lease_key(place: str, coordinator: str | None = None) -> str:
    """The local lease that marks a live hold of `place` by a process on this host."""
    return f"labgrid-{coordinator_address(coordinator)}-{place}"


def release_stale(place: str, coordinator: str | None = None) -> str | None:
    """Release a place a crashed run left acquired; the former holder, or None when it was free.

    Refuses (HilError naming it) while a live process on this host holds the place. A
    holder on another host cannot be checked from here: releasing it is the rack owner's call.
    """
    coordinator = coordinator_address(coordinator)
    local = holder_of(lease_key(place, coordinator))
    if local is not None:
        raise HilError(f"labgrid place {place!r} is held by a live run: {local}",
                       hint="stop that run; it releases the place itself")

    def work(session: Any) -> str | None:
        holder = _place(session, place, coordinator).acquired  # read first: the Place updates in place
        if holder:
            _release(session, place, fromuser=holder)
        return holder or None

    return _with_session(coordinator, work)


def show(place: str, coordinator: str | None = None) -> PlaceInfo:
    """Who holds `place` (on the coordinator and on this host) and which serial ports it matches."""
    coordinator = coordinator_address(coordinator)

    def work(session: Any) -> PlaceInfo:
        found = _place(session, place, coordinator)
        ports = [f"{name}: {_shown(entry)}" for name, entry in _matching_serial(session, found)]
        return PlaceInfo(found.name, coordinator, found.acquired, holder_of(lease_key(place, coordinator)), ports)

    return _with_session(coordinator, work)


# --- labgrid's client API, used from a thread of its own --------------------------------------


def _labgrid_client() -> Any:
    try:
        from labgrid.remote import client
    except ImportError as exc:
        raise HilError(f"labgrid is not installed ({exc})", hint=INSTALL_HINT) from None
    return client


def _pb() -> Any:
    from labgrid.remote.generated import labgrid_coordinator_pb2

    return labgrid_coordinator_pb2


def _grpc() -> Any:
    import grpc

    return grpc


def _with_session(address: str, work: Callable[[Any], T], budget: float = SESSION_BUDGET) -> T:
    """Run `work(session)` with a fresh labgrid client session, on labgrid's thread, bounded in time."""
    client = _labgrid_client()

    def job(loop: asyncio.AbstractEventLoop) -> T:
        capture = _CaptureLabgridLog()
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            try:
                session = client.start_session(address, loop=loop)
            except (client.Error, OSError) as exc:
                detail = capture.last_error() or str(exc)
                raise HilError(f"labgrid coordinator {address} is unreachable: {detail}",
                               hint="start labgrid-coordinator there, or set LG_COORDINATOR=HOST:PORT") from None
            try:
                return work(session)
            finally:
                loop.run_until_complete(session.stop())
                loop.run_until_complete(session.close())
        finally:
            root.removeHandler(capture)

    future: Future = Future()
    _worker().put((job, future))
    try:
        return future.result(budget)
    except FutureTimeout:
        future.cancel()
        raise HilError(f"labgrid coordinator {address} did not answer within {budget:.0f}s",
                       hint="check the coordinator is running and reachable") from None


_jobs: tuple[int, queue.Queue] | None = None


def _worker() -> queue.Queue:
    """The queue of this process's labgrid thread: one thread, one event loop, for every call.

    labgrid's gRPC channel binds to the calling thread's current event loop, and gRPC's
    poller keeps the loops it has seen (a closed one makes it print errors), so every
    labgrid call of the process runs on one loop that never closes, in one daemon thread
    (the caller's thread may run a loop of its own; a hung coordinator cannot block exit).
    """
    global _jobs
    if _jobs is None or _jobs[0] != os.getpid():  # a forked child has no such thread
        jobs: queue.Queue = queue.Queue()
        threading.Thread(target=_serve, args=(jobs,), name="hil-labgrid", daemon=True).start()
        _jobs = (os.getpid(), jobs)
    return _jobs[1]


def _serve(jobs: queue.Queue) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    while True:
        job, future = jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(job(loop))
        except BaseException as exc:  # handed to the caller's thread
            future.set_exception(exc)


class _CaptureLabgridLog(logging.Handler):
    """Keeps labgrid's own error lines (the useful gRPC detail) out of the user's terminal.

    labgrid logs through the root logger's module functions, which would otherwise call
    logging.basicConfig() in a process that has no handler yet.
    """

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if f"{os.sep}labgrid{os.sep}" in record.pathname:
            self.messages.append(record.getMessage().splitlines()[0])
        elif record.levelno >= logging.WARNING and logging.lastResort is not None:
            logging.lastResort.handle(record)

    def last_error(self) -> str | None:
        return self.messages[-1] if self.messages else None


def _run(session: Any, awaitable: Any) -> Any:
    return session.loop.run_until_complete(awaitable)


def _identity(session: Any) -> str:
    """Who the coordinator will record as holder: LG_HOSTNAME/LG_USERNAME or host/user, as labgrid-client."""
    return f"{session.gethostname()}/{session.getuser()}"


def _place(session: Any, name: str, coordinator: str) -> Any:
    if name not in session.places:
        known = ", ".join(sorted(session.places)) or "none"
        raise HilError(f"labgrid coordinator {coordinator} has no place {name!r}",
                       hint=f"known places: {known}; create it with labgrid-client -p {name} create")
    return session.places[name]


def _release(session: Any, place: str, *, fromuser: str) -> None:
    """Release only when `fromuser` still holds it: never someone who took it over since."""
    pb, grpc = _pb(), _grpc()
    try:
        _run(session, session.stub.ReleasePlace(pb.ReleasePlaceRequest(placename=place, fromuser=fromuser)))
        _run(session, session.sync_with_coordinator())
    except grpc.aio.AioRpcError as exc:
        raise HilError(f"labgrid place {place!r}: release failed: {exc.details()}",
                       hint=f"retry with hil labgrid release {place}") from None


def _matching_serial(session: Any, place: Any) -> list[tuple[str, Any]]:
    """(name, resource) for each serial port the place matches, acquired or not."""
    found = []
    for exporter, groups in sorted(session.resources.items()):
        for group_name, group in sorted(groups.items()):
            for resource_name, entry in sorted(group.items()):
                if entry.cls != "NetworkSerialPort":
                    continue
                match = place.getmatch((exporter, group_name, entry.cls, resource_name))
                if match is not None:
                    found.append((match.rename or resource_name, entry))
    return found


def _serial_url(session: Any, place: Any, wanted: str | None) -> str:
    """The acquired place's serial port as a pyserial URL."""
    client = _labgrid_client()
    try:
        resources = session.get_target_resources(place)
    except client.Error as exc:
        raise HilError(f"labgrid place {place.name!r}: {exc}", hint="check the rack host's labgrid-exporter") from None
    ports = {name: entry for (name, cls), entry in resources.items() if cls == "NetworkSerialPort"}
    if not ports:
        raise HilError(f"labgrid place {place.name!r} has no serial port (NetworkSerialPort)",
                       hint=f"labgrid-client -p {place.name} add-match EXPORTER/GROUP/NetworkSerialPort")
    if wanted is None and len(ports) > 1:
        raise HilError(f"labgrid place {place.name!r} has several serial ports: {', '.join(sorted(ports))}",
                       hint=f"name one: port = \"labgrid://{place.name}/NAME\"")
    name = wanted or next(iter(ports))
    if name not in ports:
        raise HilError(f"labgrid place {place.name!r} has no serial port named {name!r}",
                       hint=f"its serial ports: {', '.join(sorted(ports))}")
    url = _url_for(ports[name]) if ports[name].avail else None
    if url is None:
        raise HilError(f"labgrid place {place.name!r}: serial port {name!r} is not available "
                       "(board unplugged, or its ser2net not running)", hint="check the rack host's labgrid-exporter")
    return url


def _url_for(entry: Any) -> str | None:
    """rfc2217://host:port?ign_set_control (as labgrid's SerialDriver opens it), or socket:// for raw TCP.

    ser2net does not answer SET_CONTROL (DTR/RTS) as pyserial waits for, so labgrid always
    ignores those answers; the lines are still set. A raw TCP port has no modem lines at
    all: no baud changes, no DTR/RTS reset.
    """
    args = entry.args
    if entry.extra.get("proxy_required") or os.environ.get("LG_PROXY"):
        raise HilError(f"serial port {args.get('host')}:{args.get('port')} is only reachable through an SSH proxy "
                       "(exporter --isolated or LG_PROXY), which esp-hil does not set up",
                       hint="run from a host that reaches the rack host directly")
    host, port = args.get("host"), args.get("port")
    if not host or not port:
        return None  # an exporter's USB port that is unplugged has no ser2net port
    if args.get("protocol", "rfc2217") == "raw":
        return f"socket://{host}:{port}"
    return f"rfc2217://{host}:{port}?ign_set_control"


def _shown(entry: Any) -> str:
    try:
        return (_url_for(entry) if entry.avail else None) or "(not available now)"
    except HilError as exc:
        return str(exc)

