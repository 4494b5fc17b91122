"""Model catalog: resolve a model name to a verified local path; join and install models.

Models ship inside PyPI packages, some split into parts. The catalog joins parts into a cache
folder, checks every file against its SHA-256, and resolves a model name to a verified local
path. A file is hashed in full before it is first loaded; after that a stamp may vouch for it
(``_fingerprint``): its device, inode, size, modification time and inode change time (ctime) as
they were right after its last full hash. Any write, truncation, rename over it, chmod or
``touch`` changes the ctime, and no unprivileged call can set the ctime back (``utime`` sets it
to now), so restoring the mtime after a change does not fool it the way a size-and-mtime
stamp was fooled. What it cannot see: a change below the file system (bit rot, raw block
writes) and root resetting the system clock; ``verify(full=True)`` (``edge-agent models verify
--full``, ``doctor --full``) hashes again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import hashlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

from edge_agent.core.config.schema import ManifestFile, load_yaml
from edge_agent.core.models.manifest import (
    ModelError,
    ModelFile,
    ModelIntegrityError,
    ModelMissingError,
    ModelPart,
    ModelSpec,
    ModelStatus,
    default_cache_dir,
    default_manifest_path,
    parse_manifest,
)
from edge_agent.core.models.verify import CHUNK_BYTES, progress_bar, sha256_file

__all__ = ['ModelCatalog']


def _locate_module(module: str) -> pathlib.Path | None:
    """Folder of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(list(spec.submodule_search_locations)[0])


class ModelCatalog:
    """Resolve model names from the manifest to verified local paths.

    ``locate`` maps a part's module name to the folder holding it; the default finds installed
    packages. ``progress`` receives a tqdm-like factory or None for silence.
    """

    def __init__(
        self,
        manifest: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        locate: Callable[[str], pathlib.Path | None] = _locate_module,
    ) -> None:
        self.manifest_path = pathlib.Path(manifest) if manifest else default_manifest_path()
        self.cache_dir = pathlib.Path(cache_dir) if cache_dir else default_cache_dir()
        self._locate = locate
        data = load_yaml(self.manifest_path, ManifestFile, 'model manifest')
        self.models = parse_manifest(data, str(self.manifest_path))

    # -- lookup -------------------------------------------------------------------------------
    def spec(self, name: str) -> ModelSpec:
        """The manifest entry of ``name``; a helpful error lists the known names."""
        try:
            return self.models[name]
        except KeyError:
            known = ', '.join(sorted(self.models)) or 'none'
            raise ModelError(f'unknown model {name!r}; the manifest lists: {known}') from None

    def names(self, modality: str | None = None) -> list[str]:
        """Model names in manifest order, optionally of one modality."""
        return [n for n, s in self.models.items() if modality is None or s.modality == modality]

    def _part_path(self, spec: ModelSpec, part: ModelPart) -> pathlib.Path:
        if not part.module:
            return self.manifest_path.parent / part.path
        root = self._locate(part.module)
        if root is None:
            raise ModelMissingError(
                f'model {spec.name!r}: package module {part.module!r} is not installed '
                f'(run `edge-agent models install {spec.name}`; it installs '
                f'{" ".join(spec.packages)})')
        return root / part.path

    def _in_place(self, spec: ModelSpec, mfile: ModelFile) -> pathlib.Path | None:
        """The part itself when a file needs no joining and keeps its name's role."""
        if len(mfile.parts) != 1:
            return None
        return self._part_path(spec, mfile.parts[0])

    def _output_paths(self, spec: ModelSpec) -> dict[str, pathlib.Path]:
        """Where each file of the model is read from: in place when possible, else the cache."""
        in_place = {f.name: self._in_place(spec, f) for f in spec.files}
        if spec.layout == 'file':
            (mfile,) = spec.files
            return {mfile.name: in_place[mfile.name] or self.cache_dir / spec.name / mfile.name}
        folders = {p.parent for p in in_place.values() if p is not None}
        names_match = all(p is not None and p.name == n for n, p in in_place.items())
        if len(folders) == 1 and names_match:
            return dict(in_place)  # type: ignore[arg-type]
        return {f.name: self.cache_dir / spec.name / f.name for f in spec.files}

    def _model_path(self, spec: ModelSpec, outputs: dict[str, pathlib.Path]) -> pathlib.Path:
        """The path a loader takes: the file itself, or the folder of a directory model."""
        first = next(iter(outputs.values()))
        return first if spec.layout == 'file' else first.parent

    # -- verification -------------------------------------------------------------------------
    def _stamp_path(self, name: str) -> pathlib.Path:
        return self.cache_dir / '.verified' / f'{name}.json'

    def _read_stamp(self, name: str) -> dict:
        try:
            return json.loads(self._stamp_path(name).read_text())
        except (OSError, ValueError):
            return {}

    def _write_stamp(self, name: str, stamp: dict) -> None:
        path = self._stamp_path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix('.tmp')
            tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True))
            tmp.replace(path)
        except OSError:
            pass  # a read-only cache only costs a re-hash next time

    @staticmethod
    def _fingerprint(path: pathlib.Path) -> list:
        """What proves a file unchanged since its last full hash (see the module docstring)."""
        st = path.stat()
        return [str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def _hash_file(self, path: pathlib.Path, progress, label: str) -> str:
        return sha256_file(path, progress, label)

    def _check_file(self, spec, mfile, path, stamp, full, progress) -> None:
        if not path.is_file():
            raise ModelMissingError(f'model {spec.name!r}: file {path} is missing')
        size = path.stat().st_size
        if size != mfile.size:
            raise ModelIntegrityError(
                f'model {spec.name!r}: {path} has {size} bytes, the manifest says {mfile.size}')
        fingerprint = self._fingerprint(path)
        if not full and stamp.get(mfile.name) == fingerprint + [mfile.sha256]:
            return
        actual = self._hash_file(path, progress, f'verify {spec.name}/{mfile.name}')
        if actual != mfile.sha256:
            raise ModelIntegrityError(
                f'model {spec.name!r}: SHA-256 mismatch for {path}: got {actual}, '
                f'the manifest says {mfile.sha256}')
        stamp[mfile.name] = fingerprint + [mfile.sha256]

    def verify(self, name: str, full: bool = False, progress=None) -> pathlib.Path:
        """Check every file of ``name`` and return the model path; raises ModelError."""
        spec = self.spec(name)
        outputs = self._output_paths(spec)
        stamp = self._read_stamp(name)
        for mfile in spec.files:
            self._check_file(spec, mfile, outputs[mfile.name], stamp, full, progress)
        self._write_stamp(name, stamp)
        return self._model_path(spec, outputs)

    def path(self, name: str) -> pathlib.Path:
        """Verified local path of ``name``: the file (GGUF) or the folder (CTranslate2)."""
        return self.verify(name)

    def status(self, name: str, full: bool = False) -> ModelStatus:
        """Like ``verify`` but reports instead of raising."""
        try:
            path = self.verify(name, full=full)
        except ModelMissingError as exc:
            return ModelStatus(name, False, False, None, str(exc))
        except ModelError as exc:
            return ModelStatus(name, True, False, None, str(exc))
        return ModelStatus(name, True, True, path, 'verified')

    # -- assembly -----------------------------------------------------------------------------
    def _check_part(self, spec, part, path, progress) -> None:
        if not path.is_file():
            source = (f'from package module {part.module!r}; reinstall with `edge-agent models '
                      f'install {spec.name}`' if part.module else
                      "a file of the package's models/ folder")
            raise ModelMissingError(f'model {spec.name!r}: part {path} is missing ({source})')
        size = path.stat().st_size
        if part.size is not None and size != part.size:
            raise ModelIntegrityError(
                f'model {spec.name!r}: part {path} has {size} bytes, the manifest says '
                f'{part.size}')
        if part.sha256 is not None:
            actual = self._hash_file(path, progress, f'check {path.name}')
            if actual != part.sha256.lower():
                raise ModelIntegrityError(
                    f'model {spec.name!r}: SHA-256 mismatch for part {path}: got {actual}, '
                    f'the manifest says {part.sha256}')

    def _join(self, spec, mfile, target: pathlib.Path, progress) -> None:
        """Join the parts into ``target`` through a temporary file, hashing as it copies."""
        sources = [self._part_path(spec, p) for p in mfile.parts]
        for part, src in zip(mfile.parts, sources, strict=True):
            self._check_part(spec, part, src, progress)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + '.partial')
        digest = hashlib.sha256()
        try:
            with open(tmp, 'wb') as out, progress_bar(
                    progress, mfile.size, f'join {mfile.name}') as bar:
                for src in sources:
                    with open(src, 'rb') as fh:
                        while chunk := fh.read(CHUNK_BYTES):
                            digest.update(chunk)
                            out.write(chunk)
                            bar.update(len(chunk))
            actual = digest.hexdigest()
            if actual != mfile.sha256:
                raise ModelIntegrityError(
                    f'model {spec.name!r}: joined {mfile.name} from '
                    f'{", ".join(str(s) for s in sources)} has SHA-256 {actual}, the manifest '
                    f'says {mfile.sha256}')
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)

    def assemble(self, name: str, progress=None) -> pathlib.Path:
        """Join what needs joining into the cache, verify everything, return the model path."""
        spec = self.spec(name)
        outputs = self._output_paths(spec)
        stamp = self._read_stamp(name)
        for mfile in spec.files:
            target = outputs[mfile.name]
            try:
                self._check_file(spec, mfile, target, stamp, False, progress)
                continue
            except ModelError:
                if self._in_place(spec, mfile) == target:
                    raise  # nothing to rebuild from: the package file itself is wrong
            self._join(spec, mfile, target, progress)
            stamp[mfile.name] = self._fingerprint(target) + [mfile.sha256]
        self._write_stamp(name, stamp)
        return self._model_path(spec, outputs)

    def pip_install(self, names: Iterable[str], force: bool = False) -> None:
        """pip-install the packages that carry ``names`` (data only, so --no-deps)."""
        requirements: list[str] = []
        for name in names:
            for req in self.spec(name).packages:
                if req not in requirements:
                    requirements.append(req)
        if not requirements:
            return
        cmd = [sys.executable, '-m', 'pip', 'install', '--no-deps',
               '--disable-pip-version-check', *requirements]
        if force:
            cmd.insert(4, '--force-reinstall')
        result = subprocess.run(cmd, check=False)
        if result.returncode != 0:
            raise ModelError(
                f'pip could not install {" ".join(requirements)} (exit {result.returncode})')
        importlib.invalidate_caches()

    def install(self, names: Iterable[str], progress=None, pip: bool = True) -> dict:
        """Install packages (unless ``pip`` is False), join parts and verify: name -> path."""
        names = list(names)
        for name in names:
            self.spec(name)
        if pip:
            statuses = [self.status(n) for n in names]
            self.pip_install([s.name for s in statuses if not s.present])
            # a damaged file inside an installed package only mends by reinstalling it
            self.pip_install([s.name for s in statuses if s.present and not s.verified],
                             force=True)
        return {name: self.assemble(name, progress=progress) for name in names}
