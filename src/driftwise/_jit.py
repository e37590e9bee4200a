"""Numba settings shared by every compiled kernel, and the disk cache that stays correct.

A kernel is the one implementation of its formula: the planner (one configuration, one
day) and the backtest engine (many configurations, many days) call the same compiled
function through the same public array function. Kernels are compiled on first use and
cached on disk (``cache=True``), so only the first run on a machine pays the compilation.

Division follows numpy (``error_model="numpy"``: a division by zero gives inf or NaN, as
in the array code, instead of raising). Kernels are exact IEEE code, and their sums over
assets follow numpy's own order (:func:`driftwise._kernels.total`): the compiler may not
re-associate them, since a vectorized re-associated sum depends on where the arrays sit in
memory (two runs of the same backtest then differ in the last bits) and reorders the
arithmetic of exact checks such as the cash buffer's.

The kernels live next to their domains (``costs/_kernels.py``, ``policy/_kernels.py``,
...) and call each other across files. numba's own cache checks only the source file of
the function it compiled, so a caller would keep a stale copy of a callee changed in
another file. Here every kernel's cache entry is stamped with one hash of all the kernel
sources of its package (:func:`kernel_sources`): a change in any of them recompiles every
kernel. A kernel may only be defined in one of those files, and those files import
only each other (tests check both), so the stamp covers every value a kernel freezes.

**Two modes, one source.** Compiled (the default) or plain Python: the same kernel
functions run by the interpreter, their calls to each other reaching the Python versions
(a kernel is then the function itself). A one-day, one-configuration command (``plan``,
``monitor``) computes a few hundred trades and costs, far less than the 0.5 s numba takes
to import and set up its compiler target on the first call, even from the disk cache; in
the Python mode numba is never imported. The mode is fixed once per process, when the
first kernel is defined: by ``DRIFTWISE_JIT`` (``compiled`` or ``python``) when set, else
by :func:`prefer` (the command line asks for ``python`` for ``plan`` without a report and
for ``monitor``), else compiled. The results are the same numbers: both run the same IEEE
operations in the same order (``tests/test_jit_modes.py`` holds a plan computed both ways
equal).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_F = TypeVar("_F", bound=Callable[..., Any])

KERNEL_FILES = ("_jit.py", "_types.py", "_kernels.py")
"""Names of the files whose code or values the kernels compile."""

Mode = Literal["compiled", "python"]
MODES: tuple[Mode, ...] = ("compiled", "python")
MODE_ENV = "DRIFTWISE_JIT"
"""The environment variable that fixes the mode of a process (``compiled`` or ``python``)."""

_state: dict[str, Mode | None] = {"fixed": None, "preferred": None}


def requested() -> Mode | None:
    """The mode ``DRIFTWISE_JIT`` asks for, or None when it is unset or empty.

    Raises
    ------
    ValueError
        When it holds anything but ``compiled`` or ``python``.
    """
    value = os.environ.get(MODE_ENV, "").strip().lower()
    if not value:
        return None
    if value not in MODES:
        raise ValueError(f"environment variable {MODE_ENV}={os.environ[MODE_ENV]!r}: expected "
                         f"one of {', '.join(MODES)}")
    return value


def prefer(mode: Mode) -> None:
    """Ask for ``mode`` in this process, unless ``DRIFTWISE_JIT`` says otherwise.

    Takes effect only before the first kernel is defined (the kernel modules are
    imported); afterwards the process keeps the mode it has.
    """
    if mode not in MODES:
        raise ValueError(f"jit mode {mode!r}: expected one of {', '.join(MODES)}")
    _state["preferred"] = mode


def mode() -> Mode:
    """The mode of this process, fixed by the first call (or the first kernel defined)."""
    fixed = _state["fixed"]
    if fixed is None:
        fixed = requested() or _state["preferred"] or "compiled"
        _state["fixed"] = fixed
    return fixed


def record_array(records: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """A structured array of settings as the kernels read it: a row's fields by attribute
    (``s.tol``), as numba gives them; in the Python mode a :class:`numpy.recarray` view."""
    if mode() == "python":
        import numpy as np

        return records.view(np.recarray)
    return records


def package_root(source: Path) -> Path:
    """The top-level package directory holding the module file ``source``."""
    root = source.resolve().parent
    while (root.parent / "__init__.py").exists():
        root = root.parent
    return root


@functools.cache
def kernel_sources(root: Path) -> tuple[Path, ...]:
    """Every kernel source of the package at ``root``, sorted: the files named as in
    :data:`KERNEL_FILES`, at any depth."""
    return tuple(sorted(p for p in root.rglob("*.py") if p.name in KERNEL_FILES))


def sources_stamp(root: Path) -> str:
    """A hash of the names and contents of every kernel source under ``root``."""
    files = tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in kernel_sources(root))
    return _hash_files(root, files)


@functools.cache
def _hash_files(root: Path, files: tuple[tuple[Path, int, int], ...]) -> str:
    """The hash of ``files`` (memoized on their modification times and sizes)."""
    import hashlib

    digest = hashlib.sha256()
    for path, _, _ in files:
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root)}:{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


@functools.cache
def _cache_class() -> type[Any]:
    """numba's function cache with the package stamp (numba imported here, when a kernel is
    compiled)."""
    import pickle

    from numba.core import caching

    class _PackageStamp:
        """A locator mixin: the source stamp is the package's :func:`sources_stamp`."""

        _py_file: str

        def get_source_stamp(self) -> str:
            return sources_stamp(package_root(Path(self._py_file)))

    class _UserDirLocator(_PackageStamp, caching.UserProvidedCacheLocator):  # type: ignore[misc]
        """``NUMBA_CACHE_DIR`` when set."""

    class _InTreeLocator(_PackageStamp, caching.InTreeCacheLocator):  # type: ignore[misc]
        """The ``__pycache__`` next to the module."""

    class _UserWideLocator(_PackageStamp, caching.UserWideCacheLocator):  # type: ignore[misc]
        """The user's cache directory, when the package's own is read-only."""

    class _KernelCacheImpl(caching.CompileResultCacheImpl):  # type: ignore[misc]
        _locator_classes: list[type[object]] = [  # noqa: RUF012 (numba's own attribute)
            _UserDirLocator, _InTreeLocator, _UserWideLocator]

    class _TolerantIndex(caching.IndexDataCacheFile):  # type: ignore[misc]
        """numba's cache index, read as empty (stale) when it cannot be unpickled: the index of
        code since changed may name a type (a kernel's named tuple) that no longer exists, and
        numba unpickles the index before it compares the stamp."""

        def _load_index(self) -> dict[Any, Any]:
            try:
                return cast(dict[Any, Any], super()._load_index())  # type: ignore[no-untyped-call]
            except (AttributeError, ImportError, pickle.UnpicklingError, EOFError):
                return {}

    class _KernelCache(caching.FunctionCache):  # type: ignore[misc]
        """numba's function cache, its entries stamped with the package's kernel sources."""

        _impl_class = _KernelCacheImpl

        def __init__(self, py_func: Callable[..., Any]) -> None:
            super().__init__(py_func)  # type: ignore[no-untyped-call]
            self._cache_file = _TolerantIndex(  # type: ignore[no-untyped-call]
                cache_path=self._cache_path, filename_base=self._impl.filename_base,
                source_stamp=self._impl.locator.get_source_stamp())

    return _KernelCache


def kernel(fn: _F) -> _F:
    """Compile ``fn`` with numba: exact IEEE arithmetic, cached, the GIL released (in the
    Python mode, :func:`mode`, ``fn`` itself).

    Sums in kernels that must agree with numpy to the last bit use
    :func:`driftwise._kernels.pairwise_sum` (numpy's own summation order). ``fn`` must
    be defined in a kernel source (:data:`KERNEL_FILES`), which its cache stamp covers.
    """
    source = Path(fn.__code__.co_filename)
    if source.name not in KERNEL_FILES:
        raise TypeError(f"kernel {fn.__qualname__} is defined in {source.name}, not in a "
                        f"kernel source ({', '.join(KERNEL_FILES)})")
    if mode() == "python":
        return fn
    import numba

    dispatcher: Any = numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    dispatcher._cache = _cache_class()(fn)  # the package stamp
    return cast(_F, dispatcher)
