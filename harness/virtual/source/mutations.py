"""The fixes the behaviour suite guards, each as a revert applied to a copy of a MicroPython tree.

A green run means something only if the test it relies on turns red on firmware
without the fix. Each `Mutation` re-introduces one bug in the file that holds the
fix (`extmod/modlwip.c`, `extmod/os_dupterm.c`, `extmod/modwebsocket.c`), as text
replaced in the build's synced copy: the developer's tree is never written.
`guards` names the behaviour test modules that must fail on it; every other test
must still pass (`tests/mutation/`, docs/mutations.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from esp_hil.errors import HilError


@dataclass(frozen=True)
class Edit:
    """Replace `old` (found exactly `count` times) with `new`."""

    old: str
    new: str
    count: int = 1

    @classmethod
    def before(cls, anchor: str, text: str) -> "Edit":
        """Insert `text` just before `anchor`."""
        return cls(anchor, text + anchor)

    @classmethod
    def after(cls, anchor: str, text: str) -> "Edit":
        """Insert `text` just after `anchor`."""
        return cls(anchor, anchor + text)


def judge(guards: tuple[str, ...], also: tuple[str, ...], failed: set[str]) -> tuple[set[str], set[str]]:
    """(missed, collateral): the guarding modules that passed, and the failed ones nothing expected to fail."""
    return set(guards) - failed, failed - set(guards) - set(also)


@dataclass(frozen=True)
class Mutation:
    name: str
    summary: str
    file: str
    edits: tuple[Edit, ...]
    guards: tuple[str, ...]  # behaviour test modules (tests/hil/test_*.py) that must fail
    also: tuple[str, ...] = ()  # modules that stand on the same code and may fail too, as timing decides

    def caught(self, failed: set[str]) -> bool:
        """Every module it guards failed, and no module that has nothing to do with it."""
        missed, collateral = judge(self.guards, self.also, failed)
        return not missed and not collateral

    @property
    def patch_id(self) -> str:
        text = "\0".join([self.file, *(f"{e.old}\0{e.new}\0{e.count}" for e in self.edits)])
        return hashlib.sha256(text.encode()).hexdigest()

    def apply(self, source: bytes) -> bytes:
        text = source.decode()
        for edit in self.edits:
            if text.count(edit.old) != edit.count:
                raise HilError(f"revert {self.name!r} no longer applies to {self.file}",
                               hint="the code it reverts changed upstream: update harness/virtual/source/mutations.py")
            text = text.replace(edit.old, edit.new)
        return text.encode()


# modlwip.c's send with no room in the send buffer: the two send reverts start from here
_NO_ROOM = "        if (socket->timeout == 0) {\n            MICROPY_PY_LWIP_EXIT\n            *_errno = MP_EAGAIN;\n"


def _peek_consumes(proto: str, summary: str, consumed: str) -> Mutation:
    """modlwip.c's receive for `proto` consumes what it hands over even when asked only to peek."""
    return Mutation(name=f"{proto}-peek-consumes", summary=summary, file="extmod/modlwip.c",
                    edits=(Edit(f"    if ((flags & MSG_PEEK) == 0) {{\n{consumed}", f"    if (1) {{\n{consumed}"),),
                    guards=(f"test_{proto}_recv_peek",))


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        name="accept-discards-early-data",
        summary="the accept callback installs no receive callback: lwIP's default one discards what "
                "arrives before accept() (and closes on the peer's FIN)",
        file="extmod/modlwip.c",
        edits=(Edit("    lwip_socket_obj_t *socket = (lwip_socket_obj_t *)arg;\n"
                    "    tcp_recv(newpcb, _lwip_tcp_recv_unaccepted);\n",
                    "    lwip_socket_obj_t *socket = (lwip_socket_obj_t *)arg;\n"
                    "    (void)_lwip_tcp_recv_unaccepted;\n"),),
        guards=("test_accept",),
        also=("test_webrepl",),  # a WebREPL client's handshake is data sent before the board's accept()
    ),
    Mutation(
        name="peer-close-drops-data",
        summary="recv() reports EOF as soon as the peer closed, dropping data queued before the FIN "
                "(also data a client sent and closed before accept())",
        file="extmod/modlwip.c",
        edits=(Edit.before("    if (socket->incoming.tcp.pbuf == NULL) {\n        // Check for any pending errors",
                           "    if (socket->state >= STATE_PEER_CLOSED) {\n        return 0;\n    }\n\n"),),
        guards=("test_peer_close", "test_accept"),
    ),
    Mutation(
        name="send-no-eagain",
        summary="a non-blocking send() with no room returns 0 instead of raising EAGAIN",
        file="extmod/modlwip.c",
        edits=(Edit(_NO_ROOM + "            return MP_STREAM_ERROR;\n        }\n",
                    "        if (socket->timeout == 0) {\n            MICROPY_PY_LWIP_EXIT\n            return 0;\n        }\n"),),
        guards=("test_send",),
    ),
    Mutation(
        name="send-no-block",
        summary="a blocking send() with no room fails with EAGAIN instead of waiting for room "
                "(WebREPL's output relies on it: its websocket writes all with a blocking send)",
        file="extmod/modlwip.c",
        edits=(Edit(_NO_ROOM, _NO_ROOM.replace("socket->timeout == 0", "1")),),
        guards=("test_send", "test_webrepl"),
    ),
    Mutation(
        name="shared-recv-offset",
        summary="the offset into the current receive buffer is one variable shared by every socket",
        file="extmod/modlwip.c",
        edits=(Edit.before("// Helper function for recv/recvfrom to handle TCP packets\n",
                           "static mp_uint_t hil_shared_recv_offset;\n"),
               Edit("p->len - socket->recv_offset;", "p->len - hil_shared_recv_offset;"),
               Edit("p->payload + socket->recv_offset, len);", "p->payload + hil_shared_recv_offset, len);"),
               Edit("            socket->recv_offset = 0;\n", "            hil_shared_recv_offset = 0;\n"),
               Edit("            socket->recv_offset += len;\n", "            hil_shared_recv_offset += len;\n")),
        guards=("test_no_stale_data",),
    ),
    Mutation(
        name="rst-drops-queued-data",
        summary="the peer's RST frees the data queued before it: recv raises ECONNRESET at once "
                "(MicroPython before 1.28)",
        file="extmod/modlwip.c",
        edits=(Edit("    lwip_socket_free_incoming(socket, false);\n", "    lwip_socket_free_incoming(socket, true);\n"),),
        guards=("test_tcp_client_rst",),
    ),
    _peek_consumes("tcp", "recv with MSG_PEEK on a TCP socket consumes the bytes it returns",
                   "        remaining -= len;\n"),
    _peek_consumes("udp", "recvfrom with MSG_PEEK on a UDP socket consumes the datagram it returns",
                   "        pbuf_free(p);\n"),
    Mutation(
        name="dupterm-keeps-raising-stream",
        summary="a dupterm stream whose read or write raises is left attached, its error swallowed "
                "(reporting it on every byte instead floods the console and only slows the suite down)",
        file="extmod/os_dupterm.c",
        edits=(Edit.after("    mp_obj_t term = MP_STATE_VM(dupterm_objs[dupterm_idx]);\n",
                          "    (void)msg;\n    (void)exc;\n    (void)term;\n    return;\n"),),
        # WebREPL is a dupterm stream: a refused or dropped client is detached by this same code
        guards=("test_dupterm", "test_webrepl"),
    ),
    Mutation(
        name="webrepl-partial-write",
        summary="WebREPL writes its output on the non-blocking socket as it is: what does not fit is lost",
        file="extmod/modwebsocket.c",
        edits=(Edit("    if (self->opts & BLOCKING_WRITE) {\n", "    if (0) {\n", count=2),),
        guards=("test_webrepl",),
    ),
)


def get(name: str) -> Mutation:
    for mutation in MUTATIONS:
        if mutation.name == name:
            return mutation
    raise HilError(f"unknown revert {name!r}", hint=f"known: {', '.join(m.name for m in MUTATIONS)}")
