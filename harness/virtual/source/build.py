"""Build a board from a MicroPython tree: cached by content, incremental, the tree never written.

The tree (a developer's checkout, or an unpacked release) is read, never written:
the files that go into the build are synced into a work tree of our own, next to
the variant in `variant/`, and `make` builds there. A binary is kept under the
digest of everything that went into it, so a second run with an unchanged tree
builds nothing, and the work tree keeps its objects, so a one-line change to
`extmod/modlwip.c` costs one object and a link.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.virtual import lifetime
from esp_hil.virtual.source.mutations import Mutation, get

VARIANT = "esp-hil"
VARIANT_DIR = Path(__file__).with_name("variant")
CACHE_ENV = "HIL_CACHE_DIR"
KEEP_WORK_TREES = 6   # checkouts x flavours kept built (about 40 MB each)
KEEP_BINARIES = 64    # built boards kept (about 0.6 MB each)
# What of a MicroPython tree goes into a unix build (the rest: docs, tests, other ports).
INPUTS = ("py", "extmod", "shared", "ports/unix", "mpy-cross", "tools", "drivers", "lib")
SKIP_DIRS = {".git", "__pycache__"}
# What a build cannot do without, each with the fix for a checkout that lacks it.
REQUIRED = {
    "py/mpconfig.h": "point --hil-micropython-src at the top of a MicroPython checkout",
    "ports/unix/Makefile": "point --hil-micropython-src at the top of a MicroPython checkout",
    "lib/lwip/src/core/tcp.c": "run `git submodule update --init lib/lwip` in the checkout",
    "lib/axtls/crypto/sha1.c": "run `git submodule update --init lib/axtls` in the checkout (webrepl needs sha1)",
    "lib/micropython-lib/micropython/net/webrepl/webrepl.py":
        "run `git submodule update --init lib/micropython-lib` in the checkout",
}
# As MicroPython's own CI builds the unix port with sanitizers (tools/ci.sh); MP_ASAN lets its GC scan the stack.
_SANITIZERS = "-fsanitize=address,undefined -fno-sanitize=nonnull-attribute --param asan-use-after-return=0"
SANITIZE_FLAGS = [f"CFLAGS_EXTRA={_SANITIZERS} -DMP_ASAN=1 -DMP_UBSAN=1 -DHIL_SANITIZE=1",
                  f"LDFLAGS_EXTRA={_SANITIZERS}", "STRIP="]  # STRIP= keeps debug info: reports name file and line
LWIP_VERSION = re.compile(rb"#define LWIP_VERSION_(MAJOR|MINOR|REVISION)\s+(\d+)")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """What to build: a MicroPython tree, maybe with a guarded fix reverted, maybe with sanitizers."""

    src: Path
    revert: str = ""        # a name of `mutations.MUTATIONS`
    sanitize: bool = False  # ASan and UBSan, lwIP's pools on the heap (a defect's memory misuse becomes visible)

    def args(self) -> list[str]:
        """The same recipe as `hil virtual` options."""
        return ["--micropython-src", str(self.src), *(["--micropython-revert", self.revert] if self.revert else []),
                *(["--micropython-sanitize"] if self.sanitize else [])]

    @property
    def mutation(self) -> Mutation | None:
        return get(self.revert) if self.revert else None


def add_options(add: Callable[..., object], prefix: str) -> None:
    """The build's options, for `hil virtual` (prefix "--") and for pytest (prefix "--hil-")."""
    add(f"{prefix}micropython-src", type=Path, metavar="DIR",
        help="run the virtual boards on a unix-port build of this MicroPython tree: the firmware's own modlwip.c "
             "on lwIP, os_dupterm.c and modwebrepl.c (built once, cached by content; needs a C toolchain, and root "
             "or unprivileged user namespaces)")
    add(f"{prefix}micropython-revert", metavar="NAME",
        help="with the tree: build with this guarded fix reverted (`hil mutations --list`)")
    add(f"{prefix}micropython-sanitize", action="store_true",
        help="with the tree: build with ASan and UBSan (slower; shows memory misuse)")


def recipe_from(src: Path | None, revert: str | None, sanitize: bool) -> Recipe | None:
    """The recipe those options ask for, or None for the PyPI unix port."""
    if src is None:
        if revert or sanitize:
            raise HilError("a revert or a sanitizer build needs a MicroPython tree",
                           hint="add --hil-micropython-src DIR (hil virtual: --micropython-src DIR)")
        return None
    return Recipe(src, revert or "", sanitize)


@dataclass(frozen=True)
class Firmware:
    """A built unix-port binary and what it was built from (the board reports the same)."""

    binary: Path
    tree_id: str          # digest of the tree's build inputs
    commit: str           # the checkout's git commit, or "" outside git
    lwip: str             # lwIP version of lib/lwip
    mutation: str         # the fix reverted in it (esp_hil.virtual.source.mutations), or ""
    sanitize: bool        # built with ASan and UBSan
    built: bool           # False: taken from the cache

    @property
    def description(self) -> str:
        origin = f"commit {self.commit[:12]}" if self.commit else f"tree {self.tree_id[:12]}"
        revert = f", with {self.mutation} reverted" if self.mutation else ""
        sanitized = ", ASan+UBSan" if self.sanitize else ""
        return f"built from source ({origin}, lwIP {self.lwip}{sanitized}){revert}"


def cache_dir() -> Path:
    """$HIL_CACHE_DIR, else $XDG_CACHE_HOME/esp-hil, else ~/.cache/esp-hil."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "esp-hil"


def build(recipe: Recipe, progress: Progress = print) -> Firmware:
    """The unix-port board for `recipe`, built only if not cached."""
    src = Path(recipe.src).expanduser().resolve()
    mutation = recipe.mutation
    _check_tree(src)
    inputs = dict(_inputs(src))
    variant = dict(_variant_files())
    tree_id = _digest(inputs)
    commit = _git_commit(src)
    lwip = _lwip_version(src)
    info = {"tree_id": tree_id, "commit": commit, "lwip": lwip, "mutation": recipe.revert,
            "sanitize": "1" if recipe.sanitize else ""}
    make_flags = SANITIZE_FLAGS if recipe.sanitize else []
    flavour = _digest({"variant": _digest(variant), "make": " ".join(make_flags)})
    key = _digest({"tree": tree_id, "flavour": flavour, "mutation": mutation.patch_id if mutation else ""})
    out = cache_dir() / "bin" / key[:20]
    if (out / "micropython").is_file():
        os.utime(out)  # recently used: kept by _prune
        return _firmware(out, info, built=False)
    _check_toolchain()
    # one work tree per checkout and flavour: make's objects stay valid across builds of it (mutations included)
    work = cache_dir() / "work" / hashlib.sha256(f"{src}\0{flavour}".encode()).hexdigest()[:20]
    work.mkdir(parents=True, exist_ok=True)
    os.utime(work)  # recently used: kept by _prune
    with open(work / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run building the same tree waits, then finds it cached
        if (out / "micropython").is_file():
            return _firmware(out, info, built=False)
        label = f"{src}" + (f" with {recipe.revert} reverted" if recipe.revert else "") + (
            " (ASan+UBSan)" if recipe.sanitize else "")
        progress(f"building MicroPython ({VARIANT} variant) from {label}")
        files = _source_files(src, inputs, mutation)
        files.update(_variant_sources(variant, info))
        _sync(work / "tree", files, work / "synced.json")
        binary = _make(work, progress, make_flags)
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, tmp / "micropython")
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    _prune(cache_dir() / "work", KEEP_WORK_TREES)
    _prune(cache_dir() / "bin", KEEP_BINARIES)
    return _firmware(out, info, built=True)


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the `keep` most recently used entries (a work tree another run builds in is busy)."""
    entries = sorted(folder.iterdir(), key=_last_used, reverse=True)
    for old in entries[keep:]:
        lock = old / "lock"
        if lock.is_file():
            with open(lock) as held:
                try:
                    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                shutil.rmtree(old, ignore_errors=True)
        else:
            shutil.rmtree(old, ignore_errors=True)


def _firmware(out: Path, info: dict, built: bool) -> Firmware:
    return Firmware(binary=out / "micropython", tree_id=info["tree_id"], commit=info["commit"],
                    lwip=info["lwip"], mutation=info["mutation"], sanitize=bool(info["sanitize"]), built=built)


def _last_used(entry: Path) -> float:
    try:
        return entry.stat().st_mtime
    except FileNotFoundError:  # another run's prune took it
        return 0.0


def _check_tree(src: Path) -> None:
    if not src.is_dir():
        raise HilError(f"MicroPython tree {src} not found", hint="pass the top folder of a MicroPython checkout")
    for rel, fix in REQUIRED.items():
        if not (src / rel).is_file():
            raise HilError(f"MicroPython tree {src} has no {rel}", hint=fix)


def _check_toolchain() -> None:
    missing = [tool for tool in ("make", "cc") if shutil.which(tool) is None]
    if missing:
        raise HilError(f"building MicroPython needs {' and '.join(missing)}, not found",
                       hint="install a C toolchain: apt-get install build-essential (Debian/Ubuntu)")


def _inputs(src: Path) -> Iterator[tuple[str, str]]:
    """(relative path, content digest) of every file that goes into a unix build."""
    for top in INPUTS:
        for dirpath, dirnames, filenames in os.walk(src / top):
            rel_dir = Path(dirpath).relative_to(src)
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not _is_build_dir(rel_dir / d))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    with open(path, "rb") as f:
                        yield str(rel_dir / name), hashlib.file_digest(f, "sha256").hexdigest()


def _is_build_dir(rel: Path) -> bool:
    """A developer's own build output inside the checkout (ports/unix/build-*, mpy-cross/build)."""
    return rel.parent.as_posix() in ("ports/unix", "mpy-cross") and rel.name.startswith("build")


def _variant_files() -> Iterator[tuple[str, str]]:
    for path in sorted(VARIANT_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield str(path.relative_to(VARIANT_DIR)), hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(items: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def _git_commit(src: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _lwip_version(src: Path) -> str:
    found = dict(LWIP_VERSION.findall((src / "lib/lwip/src/include/lwip/init.h").read_bytes()))
    return ".".join(found.get(k, b"?").decode() for k in (b"MAJOR", b"MINOR", b"REVISION"))


def _source_files(src: Path, inputs: dict[str, str], mutation: Mutation | None) -> dict[str, Callable[[], bytes]]:
    """What the work tree should hold: each file's digest and how to read it (a mutation patches one)."""
    files: dict[str, Callable[[], bytes]] = {rel: _reader(src / rel, digest) for rel, digest in inputs.items()}
    if mutation is not None:
        original = (src / mutation.file).read_bytes()
        patched = mutation.apply(original)
        files[mutation.file] = _constant(patched)
    return files


class _reader:
    """Lazily reads one file; `digest` is known without reading it."""

    def __init__(self, path: Path, digest: str):
        self.path, self.digest = path, digest

    @property
    def executable(self) -> bool:
        return os.access(self.path, os.X_OK)

    def __call__(self) -> bytes:
        return self.path.read_bytes()


class _constant(_reader):
    """Generated content (a patched file, the build id header)."""

    def __init__(self, data: bytes):
        super().__init__(Path("/nonexistent"), hashlib.sha256(data).hexdigest())
        self._data = data

    @property
    def executable(self) -> bool:
        return False

    def __call__(self) -> bytes:
        return self._data


def _variant_sources(variant: dict[str, str], info: dict) -> dict[str, _reader]:
    base = f"ports/unix/variants/{VARIANT}"
    files = {f"{base}/{rel}": _reader(VARIANT_DIR / rel, digest) for rel, digest in variant.items()}
    # What the board reports as its build (network.py/_hilnet): only hil_port.o depends on it.
    header = "".join(f'#define HIL_BUILD_{k.upper()} "{v}"\n' for k, v in sorted(info.items())).encode()
    files[f"{base}/hil_build_id.h"] = _constant(header)
    return files


def _sync(tree: Path, files: dict[str, _reader], record: Path) -> None:
    """Make `tree` hold exactly `files`; only changed files are written (their mtime tells make)."""
    try:
        synced: dict[str, str] = json.loads(record.read_text())
    except (OSError, ValueError):
        synced = {}
    for rel in set(synced) - set(files):
        (tree / rel).unlink(missing_ok=True)
        del synced[rel]
    for rel, read in files.items():
        if synced.get(rel) == read.digest and (tree / rel).is_file():
            continue
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".hil-tmp")
        tmp.write_bytes(read())
        if read.executable:
            tmp.chmod(0o755)
        tmp.replace(path)
        synced[rel] = read.digest
    record.write_text(json.dumps(synced))


def _make(work: Path, progress: Progress, extra: list[str]) -> Path:
    """mpy-cross, then the port, in the work tree; on failure, the compiler's error."""
    jobs = f"-j{os.cpu_count() or 1}"
    started = time.monotonic()
    steps = _run_make(["make", "-C", str(work / "tree/mpy-cross"), jobs], work / "make-mpy-cross.log", progress, started)
    steps += _run_make(["make", "-C", str(work / "tree/ports/unix"), f"VARIANT={VARIANT}",
                        f"BUILD={work / 'build'}", jobs, *extra], work / "make.log", progress, started)
    progress(f"  built in {time.monotonic() - started:.0f} s ({steps} steps)")
    return work / "build" / "micropython"


def _run_make(cmd: list[str], log_path: Path, progress: Progress, started: float) -> int:
    steps = 0
    last_report = 0.0
    with open(log_path, "w") as log:
        # make stops with this process (on SIGTERM it stops its jobs and deletes half-made targets): a make
        # left running would go on writing the work tree the next build, once it holds the lock, writes too
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                stdin=subprocess.DEVNULL, preexec_fn=lambda: lifetime.die_with_parent(signal.SIGTERM))
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if line.startswith(("CC ", "LINK ", "MPY ")):
                steps += 1
                now = time.monotonic()
                if now - last_report >= 2.0:
                    progress(f"  ... {now - started:.0f} s, {steps} steps ({line.split()[-1]})")
                    last_report = now
        code = proc.wait()
    if code != 0:
        first, block = _compiler_error(log_path)
        progress(block)
        raise HilError(f"the MicroPython build failed: {first}", hint=f"the whole output is in {log_path}")
    return steps


def _compiler_error(log_path: Path) -> tuple[str, str]:
    """The first error line, and the compiler's message around it (as a person would read it)."""
    lines = log_path.read_text(errors="replace").splitlines()
    at = next((i for i, line in enumerate(lines) if "error:" in line or "Error " in line), len(lines) - 1)
    if at < 0:
        return "make printed nothing", ""
    return lines[at].strip(), "\n".join(lines[max(0, at - 3):at + 12])


def main(argv: list[str] | None = None) -> int:
    """`python -m esp_hil.virtual.source.build DIR [--sanitize]`: build (or find) the board, print its binary."""
    args = argv if argv is not None else sys.argv[1:]
    recipe = Recipe(Path(args[0]), sanitize="--sanitize" in args)
    firmware = build(recipe, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(firmware.binary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
